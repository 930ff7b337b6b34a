/*
 * mq_file_ops — what a queue's files do (files.h): send, receive, peek,
 * messages/<i> and <i>.type.  Each open holds a handle (open_files.h):
 * the message a send gathers and a peek's copy (mq_files.h), a receive's
 * message (blocking.h); the calls that wait go to blocking.c.
 */
#ifndef IPCFS_MQ_FILE_OPS_H
#define IPCFS_MQ_FILE_OPS_H

#include "files.h"

extern const struct file_ops mq_send_ops;
extern const struct file_ops mq_receive_ops;
/* peek, messages/<i>, messages/<i>.type: pieces of a copy. */
extern const struct file_ops mq_copy_ops;

#endif /* IPCFS_MQ_FILE_OPS_H */
