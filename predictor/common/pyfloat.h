/* pyfloat.h - Python's repr() of a float, in C: for validation messages and every JSON we write. */
#ifndef CF_PYFLOAT_H
#define CF_PYFLOAT_H

#include <stddef.h>

/* Python's repr() of a finite double ("1.0", "0.1", "1e+16", "1e-05"), the
 * way pydantic writes floats into messages and str() coerces them. out
 * should hold 32 bytes. Returns out. */
char *cf_pylike_float_repr(double d, char *out, size_t outlen);

#endif
