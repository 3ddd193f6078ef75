/* check.h - `cog-fcgi check`: would this project run on this host as it is? */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include <stddef.h>

#include "error.h"
#include "requirement.h"

/* cog-fcgi check PROJECT_DIR [--json] [--venv PATH]: exit status 0 when
 * nothing would break, 1 when something would, 2 on a usage error. */
int cf_cli_check(int argc, char **argv);

#endif
