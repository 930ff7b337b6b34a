/* The handles of open files and their per-user quota (see open_files.h). */
#include "open_files.h"
#include "ipcfs.h"
#include "quota.h"

#include <errno.h>
#include <stdlib.h>

int open_table_init(struct open_table *t, unsigned max_per_user)
{
	t->head = NULL;
	pthread_mutex_init(&t->lock, NULL);
	return quota_new(&t->quota, max_per_user);
}

void open_table_free(struct open_table *t)
{
	pthread_mutex_lock(&t->lock);
	while (t->head) {
		struct open_file *f = t->head;

		t->head = f->next;
		f->free(f);
	}
	pthread_mutex_unlock(&t->lock);
	quota_free(t->quota);
	t->quota = NULL;
}

static void open_track(struct open_table *t, struct open_file *f)
{
	f->prev = NULL;
	pthread_mutex_lock(&t->lock);
	f->next = t->head;
	if (t->head)
		t->head->prev = f;
	t->head = f;
	pthread_mutex_unlock(&t->lock);
}

static void open_untrack(struct open_table *t, struct open_file *f)
{
	pthread_mutex_lock(&t->lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		t->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&t->lock);
}

void *open_handle_new(fuse_req_t req, size_t size,
		      void (*free_handle)(struct open_file *f))
{
	struct quota *q = ipcfs_of(req)->opens.quota;
	uid_t uid = fuse_req_ctx(req)->uid;
	struct open_file *f;

	if (!quota_take(q, uid)) {
		fuse_reply_err(req, ENFILE);
		return NULL;
	}
	f = calloc(1, size);
	if (!f) {
		quota_give(q, uid);
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	f->uid = uid;
	f->free = free_handle;
	return f;
}

void open_handle_free(fuse_req_t req, struct open_file *f)
{
	struct open_table *t = &ipcfs_of(req)->opens;

	open_untrack(t, f);
	quota_give(t->quota, f->uid);
	f->free(f);
}

void open_handle_reply(fuse_req_t req, struct fuse_file_info *fi,
		       struct open_file *f)
{
	open_track(&ipcfs_of(req)->opens, f);
	fi->fh = (uintptr_t)f;
	if (fuse_reply_open(req, fi))
		open_handle_free(req, f);
}
