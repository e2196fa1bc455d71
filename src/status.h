/*
 * status.h -- "azblobfs status MOUNTPOINT [--watch]" (status.c).
 *
 * Layer: the top (main).
 */
#ifndef AZB_STATUS_H
#define AZB_STATUS_H

/* status_main: argv[0] is "status"; returns the exit status. */
int status_main(int argc, char *argv[]);

#endif
