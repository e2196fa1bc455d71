/*
 * notify.h -- service manager readiness notification (the sd_notify
 * protocol) without libsystemd.
 *
 * Layer: util (no dependencies). A unit with Type=notify starts azblobfs
 * with NOTIFY_SOCKET naming an AF_UNIX datagram socket; the daemon sends
 * "READY=1" once the mount is live and "STOPPING=1" when it starts to
 * unmount, so units ordered after it see a working mount and the manager
 * knows a stop is under way. Thread-safe: every call opens its own socket
 * and touches no shared state.
 */
#ifndef AZB_UTIL_NOTIFY_H
#define AZB_UTIL_NOTIFY_H

/*
 * notify_send: sends state (newline-separated "KEY=VALUE" assignments,
 * such as "READY=1") as one datagram to the socket named by the
 * NOTIFY_SOCKET environment variable: a path starting with '/', or an
 * abstract socket name written with a leading '@'.
 * Returns 1 when the datagram was sent, 0 when NOTIFY_SOCKET is unset or
 * empty (nothing to do), -1 with errno set when it names no usable
 * socket (EAFNOSUPPORT for another form, ENAMETOOLONG for a name that does
 * not fit) or the send failed.
 */
int notify_send(const char *state);

#endif
