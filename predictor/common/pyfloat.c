/* pyfloat.c - Python's repr() of a float, in C (pyfloat.h). */
#include "pyfloat.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cf_pylike_float_repr(double d, char *out, size_t outlen)
{
    char buf[40];
    char digits[24];
    size_t nd = 0;
    int neg;
    int exp10;

    /* Most floats we write are timings rounded to microseconds. If d is
     * n / 10^6 for an integer n (the division in doubles is correctly
     * rounded, as strtod of that decimal is), n's digits with the zeros
     * trimmed are d's shortest: no other decimal of at most six places is
     * within half an ulp of it. Integer arithmetic only: printf's %e and
     * %f cost thousands of instructions each. */
    double mag = fabs(d);
    if (mag == 0) {
        const char *zero = signbit(d) ? "-0.0" : "0.0";
        size_t n = strlen(zero);
        if (n < outlen)
            memcpy(out, zero, n + 1);
        else if (outlen > 0)
            out[0] = '\0';
        return out;
    }
    /* Below 2^33 an ulp is under 1e-6, so at most one decimal of six
     * places lies within half an ulp of d: wall-clock times qualify. */
    if (mag >= 1e-6 && mag < 8589934592.0) {
        long long n = llround(mag * 1e6);
        if ((double)n / 1e6 == mag) {
            char nd[24];
            int len = 0;
            for (long long v = n; v > 0; v /= 10)
                nd[len++] = (char)('0' + v % 10);
            /* nd holds n's digits, lowest first */
            char tmp[40];
            size_t o = 0;
            if (d < 0)
                tmp[o++] = '-';
            if (mag >= 1e-4) {
                /* plain: integer part, '.', at least one decimal */
                int ints = len > 6 ? len - 6 : 0;
                if (ints == 0)
                    tmp[o++] = '0';
                for (int i = len - 1; i >= 6; i--)
                    tmp[o++] = nd[i];
                tmp[o++] = '.';
                int last = 0; /* the lowest decimal digit kept */
                while (last < 5 && (last >= len ? '0' : nd[last]) == '0')
                    last++;
                for (int i = 5; i >= last; i--)
                    tmp[o++] = i < len ? nd[i] : '0';
            } else {
                /* below 1e-4 repr writes 3.1e-05: n has at most two digits */
                int last = 0;
                while (last < len - 1 && nd[last] == '0')
                    last++;
                tmp[o++] = nd[len - 1];
                if (last < len - 1) {
                    tmp[o++] = '.';
                    for (int i = len - 2; i >= last; i--)
                        tmp[o++] = nd[i];
                }
                int e = 7 - len; /* d = n * 10^-6 = first digit * 10^(len - 7) */
                tmp[o++] = 'e';
                tmp[o++] = '-';
                tmp[o++] = (char)('0' + e / 10);
                tmp[o++] = (char)('0' + e % 10);
            }
            tmp[o] = '\0';
            if (o < outlen)
                memcpy(out, tmp, o + 1);
            else if (outlen > 0)
                out[0] = '\0';
            return out;
        }
    }
    /* The shortest digits that read back as d, as Python's repr uses. Any
     * decimal of at most 15 significant digits reads back as the one double
     * nearest it (DBL_DIG), so if d has such a form, %.14e rounds d to it
     * (the zeros it pads with are dropped below): shorter precisions need
     * not be tried, and 17 digits always read back. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    neg = buf[0] == '-';
    const char *p = buf + neg;
    for (; *p != 'e' && *p != '\0'; p++) {
        if (isdigit((unsigned char)*p) && nd < sizeof(digits) - 1) {
            digits[nd++] = *p;
        }
    }
    exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    digits[nd] = '\0';
    int decpt = exp10 + 1;

    size_t o = 0;
    char tmp[64];
    if (neg) {
        tmp[o++] = '-';
    }
    if (decpt > 16 || decpt < -3) {
        tmp[o++] = digits[0];
        if (nd > 1) {
            tmp[o++] = '.';
            memcpy(tmp + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(tmp + o, sizeof(tmp) - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        tmp[o++] = '0';
        tmp[o++] = '.';
        for (int i = 0; i < -decpt; i++) {
            tmp[o++] = '0';
        }
        memcpy(tmp + o, digits, nd);
        tmp[o + nd] = '\0';
    } else if ((size_t)decpt >= nd) {
        memcpy(tmp + o, digits, nd);
        o += nd;
        for (size_t i = nd; i < (size_t)decpt; i++) {
            tmp[o++] = '0';
        }
        memcpy(tmp + o, ".0", 3);
    } else {
        memcpy(tmp + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        tmp[o++] = '.';
        memcpy(tmp + o, digits + decpt, nd - (size_t)decpt);
        tmp[o + nd - (size_t)decpt] = '\0';
    }
    snprintf(out, outlen, "%s", tmp);
    return out;
}
