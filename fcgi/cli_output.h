/* cli_output.h - where `cog-fcgi predict` writes its output, and how (cli_output.c). */
#ifndef CF_CLI_OUTPUT_H
#define CF_CLI_OUTPUT_H

#include <limits.h>

#include <jansson.h>

/* Where outputs go: -o PATH (a file, or a directory for Cog's names inside it), or the
 * current directory. */
typedef struct cf_out_target {
    char stem[PATH_MAX];  /* "output", "DIR/output" or PATH without its extension */
    char ext[64];         /* PATH's extension (".png") or "" */
    char exact[PATH_MAX]; /* PATH itself when a single file output goes there, else "" */
    char json[PATH_MAX];  /* where the whole prediction goes: PATH, DIR/output.json, or "" */
} cf_out_target;

/* Checks -o PATH (NULL: none) before the model runs, as Cog does: an existing directory takes
 * Cog's names inside it, a new file needs its directory to exist and be writable. Fills t.
 * 0, or 1 after printing why. */
int cf_cli_plan_output(const char *path, cf_out_target *t);

/* 1 when v holds a file output ({"$cogfile": path}) anywhere. */
int cf_cli_has_files(const json_t *v);

/* Writes every file of *v under Cog's names and replaces it by its path: a file at the root
 * is STEM.EXT (or t->exact when set), a list's items STEM.0.EXT, ..., an object's fields
 * STEM.KEY.EXT (EXT: t->ext, else the file's own). root is 1 for the top call. 0, or 1 after
 * printing why. */
int cf_cli_save_files(json_t **v, const cf_out_target *t, const char *stem, int root);

/* Prints v (path NULL) or writes it to path: a string as it is, the rest as indented JSON
 * with Python's float repr. 0, or 1 after printing why. */
int cf_cli_put_result(const json_t *v, const char *path);

#endif
