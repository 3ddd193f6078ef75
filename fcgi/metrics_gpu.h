/* metrics_gpu.h - GPU memory per worker process, from NVML loaded at run time. */
#ifndef CF_METRICS_GPU_H
#define CF_METRICS_GPU_H

#include <stddef.h>
#include <sys/types.h>

/* One worker to look up: its pid and labels. */
typedef struct cf_gpu_proc {
    pid_t pid;
    int slot;
    const char *device; /* its CUDA_VISIBLE_DEVICES, may be "" */
} cf_gpu_proc;

/* Appends cog_gpu_memory_used_bytes{model,slot,device,gpu} for each of the
 * n processes that holds memory on an NVIDIA GPU, as NVML reports it
 * (libnvidia-ml.so.1 is dlopen'd on the first call; without it, or without
 * a GPU, nothing is appended and nothing fails). Not under the runner's
 * lock: NVML calls take milliseconds. 0 or CF_ENOMEM. */
int cf_gpu_render(const char *model, const cf_gpu_proc *procs, size_t n, char **buf,
                  size_t *len);

#endif
