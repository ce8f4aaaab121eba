/*
 * ask.h: questions to the person at the terminal, with a shown default,
 * validation and asking again: "Host [localhost]: ", "Port [9090]: ".
 */
#ifndef ASK_H
#define ASK_H

#include <stddef.h>

int	ask_line(const char *prompt, char *buf, size_t len);
int	ask_port(const char *prog, int def, int *port);
int	ask_host(const char *prog, const char *def, char *host, size_t len);

#endif /* ASK_H */
