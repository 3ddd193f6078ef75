/* fdio.h - writing every byte to a descriptor. */
#ifndef CF_FDIO_H
#define CF_FDIO_H

#include <sys/uio.h>

/* Writes every byte of iov[0..n) (which it advances), retrying short writes
 * and EINTR. 0, or -1 with errno. */
int cf_writev_all(int fd, struct iovec *iov, int n);

#endif
