/*
 * notify.h: talking to systemd: readiness notification and the
 * listening sockets of socket activation.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

void	notify(const char *state);
int	notify_listen_fds(int *fds, int maxfds);

#endif /* NOTIFY_H */
