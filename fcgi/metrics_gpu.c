/* metrics_gpu.c - GPU memory per worker process through NVML, dlopen'd so the front needs no driver.
 *
 * The front never links against the NVIDIA driver: on a host without one,
 * dlopen fails once and /metrics has no GPU series. With one, every scrape
 * asks each device for its compute processes and matches their pids with
 * the workers'. NVML's device indices follow PCI bus order, which can
 * differ from CUDA's default order; the gpu label is NVML's index and the
 * device label the worker's CUDA_VISIBLE_DEVICES.
 */
#include "metrics_gpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "error.h"
#include "metrics.h"

/* nvmlProcessInfo_t as nvmlDeviceGetComputeRunningProcesses_v2/_v3 fill it. */
typedef struct nvml_proc {
    unsigned int pid;
    unsigned long long used_gpu_memory;
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
} nvml_proc;

typedef int (*init_fn)(void);
typedef int (*count_fn)(unsigned int *);
typedef int (*handle_fn)(unsigned int, void **);
typedef int (*procs_fn)(void *, unsigned int *, nvml_proc *);

static struct {
    pthread_once_t once;
    int ok;
    count_fn count;
    handle_fn handle;
    procs_fn procs;
} nvml = {PTHREAD_ONCE_INIT, 0, NULL, NULL, NULL};

static void nvml_load(void)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return;
    init_fn init = (init_fn)dlsym(lib, "nvmlInit_v2");
    nvml.count = (count_fn)dlsym(lib, "nvmlDeviceGetCount_v2");
    nvml.handle = (handle_fn)dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
    nvml.procs = (procs_fn)dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v3");
    if (nvml.procs == NULL)
        nvml.procs = (procs_fn)dlsym(lib, "nvmlDeviceGetComputeRunningProcesses_v2");
    nvml.ok = init && nvml.count && nvml.handle && nvml.procs && init() == 0;
}

int cf_gpu_render(const char *model, const cf_gpu_proc *procs, size_t n, char **buf,
                  size_t *len)
{
    pthread_once(&nvml.once, nvml_load);
    unsigned int ndev = 0;
    if (!nvml.ok || n == 0 || nvml.count(&ndev) != 0 || ndev == 0)
        return CF_OK;
    int rc = cf_metrics_printf(buf, len, "# HELP cog_gpu_memory_used_bytes GPU memory a worker "
                               "process holds (NVML).\n# TYPE cog_gpu_memory_used_bytes gauge\n");
    for (unsigned int d = 0; d < ndev && rc == CF_OK; d++) {
        void *h = NULL;
        nvml_proc list[64];
        unsigned int count = 64;
        if (nvml.handle(d, &h) != 0 || nvml.procs(h, &count, list) != 0)
            continue;
        for (unsigned int i = 0; i < count && rc == CF_OK; i++) {
            for (size_t k = 0; k < n && rc == CF_OK; k++) {
                if ((pid_t)list[i].pid != procs[k].pid)
                    continue;
                rc = cf_metrics_printf(buf, len, "cog_gpu_memory_used_bytes{model=\"");
                if (rc == CF_OK)
                    rc = cf_metrics_label(buf, len, model);
                if (rc == CF_OK)
                    rc = cf_metrics_printf(buf, len, "\",slot=\"%d\",device=\"", procs[k].slot);
                if (rc == CF_OK)
                    rc = cf_metrics_label(buf, len, procs[k].device ? procs[k].device : "");
                if (rc == CF_OK)
                    rc = cf_metrics_printf(buf, len, "\",gpu=\"%u\"} %llu\n", d,
                                           list[i].used_gpu_memory);
            }
        }
    }
    return rc;
}
