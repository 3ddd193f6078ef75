/* files_in.h - for the unit tests: how many files a directory holds. */
#ifndef CF_TEST_FILES_IN_H
#define CF_TEST_FILES_IN_H

#include <dirent.h>

/* Entries of dir whose names do not start with a dot (0 when it cannot be read). */
static inline int files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

#endif
