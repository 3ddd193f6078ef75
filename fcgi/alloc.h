/* alloc.h - the front's memory allocator and its settings. */
#ifndef CF_ALLOC_H
#define CF_ALLOC_H

/* Sets up the allocator before any thread starts; cannot fail (a setting the
 * allocator refuses leaves its default). */
void cf_alloc_configure(void);

#endif
