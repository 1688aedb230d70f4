/*
 * The main and events contexts: worker_processes, user, pid, error_log
 * and the like, parsed into the cycle's struct core_conf.
 */
#ifndef USHER_MASTER_CORE_CONF_H
#define USHER_MASTER_CORE_CONF_H

struct conf_cmd;
struct cycle;

extern const struct conf_cmd	core_cmds[];

/* Marks every field unset before parsing. */
void	core_conf_init(struct cycle *);
/* Writes the defaults into unset fields; 0, or -1 after an [emerg]. */
int	core_conf_finish(struct cycle *);

#endif
