/*
 * vidxd_fd: the optional fd-passing piece of vidxd's vfio-user transport (the addon's other binary,
 * vidxd_crc, is the DSA engine's CRC-32C and shares nothing with it). Node's `net` cannot send or
 * receive file descriptors, so in fd mode the JavaScript side owns its AF_UNIX sockets through these
 * few calls and parses the bytes with the same codec as in plain mode:
 *
 *   listen(path, backlog) -> fd          accept(fd) -> fd | -EAGAIN      connect(path) -> fd
 *   recvmsg(fd, buf, fds) -> n | -errno  (fds[0] = count, fds[1..] = the received descriptors)
 *   sendmsg(fd, buf, fds|null) -> n | -errno
 *   watch(fd, events, cb) -> handle      rewatch(handle, events)          unwatch(handle)
 *   eventfd() -> fd   eventfdWrite(fd, n) -> 0 | -errno   eventfdRead(fd) -> count (0 when none)
 *   memfd(name, size) -> fd              mmap(fd, offset, length, writable) -> ArrayBuffer
 *   close(fd)
 *
 * Every socket and eventfd is non-blocking and close-on-exec. `watch` runs `cb(events)` on the
 * event loop (libuv poll) whenever the fd is readable (1) and/or writable (2). An ArrayBuffer from
 * `mmap` is external memory: it is unmapped when the ArrayBuffer is collected. Errors of the
 * set-up calls throw an Error whose `code` is the errno name; the data-path calls return -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* Most descriptors one recvmsg accepts; the kernel closes any beyond (MSG_CTRUNC). */
#define MAX_FDS 32

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, "EINVAL", "vidxd_fd: bad arguments to " #call);          \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  const char *name = NULL;
  switch (err) {
    case EACCES: name = "EACCES"; break;
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case EBADF: name = "EBADF"; break;
    case ECONNREFUSED: name = "ECONNREFUSED"; break;
    case EINVAL: name = "EINVAL"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENAMETOOLONG: name = "ENAMETOOLONG"; break;
    case ENOENT: name = "ENOENT"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case ENOTDIR: name = "ENOTDIR"; break;
    case ENXIO: name = "ENXIO"; break;
    default: name = "EIO"; break;
  }
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
  return 0;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

static int get_path(napi_env env, napi_value v, struct sockaddr_un *addr, socklen_t *len) {
  size_t n = 0;
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return -1;
  if (n == 0 || n >= sizeof addr->sun_path) return -2;
  napi_get_value_string_utf8(env, v, addr->sun_path, sizeof addr->sun_path, &n);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  return 0;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  void *base = NULL;
  size_t length = 0;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &base, &ab, &off) != napi_ok) return -1;
  if (type != napi_uint8_array) return -1;
  *data = (uint8_t *)base;
  *len = length;
  return 0;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_un addr;
  socklen_t alen;
  int64_t backlog;
  if (get_args(env, info, 2, argv) != 0 || get_int(env, argv[1], &backlog) != 0) {
    napi_throw_error(env, "EINVAL", "listen(path, backlog)");
    return NULL;
  }
  int r = get_path(env, argv[0], &addr, &alen);
  if (r != 0) return throw_errno(env, r == -2 ? ENAMETOOLONG : EINVAL, "listen");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (bind(fd, (struct sockaddr *)&addr, alen) != 0 || listen(fd, (int)backlog) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind/listen");
  }
  return num(env, fd);
}

static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (get_args(env, info, 1, argv) != 0 || get_int(env, argv[0], &fd) != 0) {
    napi_throw_error(env, "EINVAL", "accept(fd)");
    return NULL;
  }
  int c = accept4((int)fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return num(env, c < 0 ? -errno : c);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct sockaddr_un addr;
  socklen_t alen;
  if (get_args(env, info, 1, argv) != 0) {
    napi_throw_error(env, "EINVAL", "connect(path)");
    return NULL;
  }
  int r = get_path(env, argv[0], &addr, &alen);
  if (r != 0) return throw_errno(env, r == -2 ? ENAMETOOLONG : EINVAL, "connect");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (connect(fd, (struct sockaddr *)&addr, alen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "connect");
  }
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return num(env, fd);
}

static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fd;
  uint8_t *buf;
  size_t len;
  int32_t *fds;
  size_t nfds_cap;
  napi_typedarray_type type;
  void *base;
  napi_value ab;
  size_t off;
  if (get_args(env, info, 3, argv) != 0 || get_int(env, argv[0], &fd) != 0 || get_bytes(env, argv[1], &buf, &len) != 0 ||
      napi_get_typedarray_info(env, argv[2], &type, &nfds_cap, &base, &ab, &off) != napi_ok || type != napi_int32_array || nfds_cap < 1) {
    napi_throw_error(env, "EINVAL", "recvmsg(fd, Uint8Array, Int32Array)");
    return NULL;
  }
  fds = (int32_t *)base;
  fds[0] = 0;
  union {
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {buf, len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n = recvmsg((int)fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return num(env, -errno);
  size_t got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *in = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < k; i++) {
      if (got + 1 < nfds_cap) fds[1 + got++] = in[i];
      else close(in[i]); /* no room in the caller's array: never leak it */
    }
  }
  fds[0] = (int32_t)got;
  return num(env, (double)n);
}

static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fd;
  uint8_t *buf;
  size_t len;
  if (get_args(env, info, 3, argv) != 0 || get_int(env, argv[0], &fd) != 0 || get_bytes(env, argv[1], &buf, &len) != 0) {
    napi_throw_error(env, "EINVAL", "sendmsg(fd, Uint8Array, Int32Array | null)");
    return NULL;
  }
  union {
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {buf, len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  napi_valuetype vt;
  napi_typeof(env, argv[2], &vt);
  if (vt == napi_object) {
    napi_typedarray_type type;
    size_t n = 0;
    void *base;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, argv[2], &type, &n, &base, &ab, &off) != napi_ok || type != napi_int32_array || n > MAX_FDS) {
      napi_throw_error(env, "EINVAL", "sendmsg: fds must be an Int32Array of at most 32 descriptors");
      return NULL;
    }
    if (n > 0) {
      memset(&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(n * sizeof(int));
      memcpy(CMSG_DATA(c), base, n * sizeof(int));
    }
  }
  ssize_t r = sendmsg((int)fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  return num(env, r < 0 ? -errno : (double)r);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (get_args(env, info, 1, argv) != 0 || get_int(env, argv[0], &fd) != 0) {
    napi_throw_error(env, "EINVAL", "close(fd)");
    return NULL;
  }
  if (fd >= 0) close((int)fd);
  return NULL;
}

static napi_value js_eventfd(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "eventfd");
  return num(env, fd);
}

static napi_value js_eventfd_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd, n;
  if (get_args(env, info, 2, argv) != 0 || get_int(env, argv[0], &fd) != 0 || get_int(env, argv[1], &n) != 0) {
    napi_throw_error(env, "EINVAL", "eventfdWrite(fd, n)");
    return NULL;
  }
  uint64_t v = (uint64_t)n;
  ssize_t r = write((int)fd, &v, sizeof v);
  return num(env, r == (ssize_t)sizeof v ? 0 : -errno);
}

static napi_value js_eventfd_read(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (get_args(env, info, 1, argv) != 0 || get_int(env, argv[0], &fd) != 0) {
    napi_throw_error(env, "EINVAL", "eventfdRead(fd)");
    return NULL;
  }
  uint64_t v = 0;
  ssize_t r = read((int)fd, &v, sizeof v);
  return num(env, r == (ssize_t)sizeof v ? (double)v : 0);
}

static napi_value js_memfd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t size;
  char name[64];
  size_t n;
  if (get_args(env, info, 2, argv) != 0 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok ||
      get_int(env, argv[1], &size) != 0 || size < 0) {
    napi_throw_error(env, "EINVAL", "memfd(name, size)");
    return NULL;
  }
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return throw_errno(env, errno, "memfd_create");
  if (ftruncate(fd, (off_t)size) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ftruncate");
  }
  /* The size is fixed from now on: a peer that maps it can never be made to fault past its end. */
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  return num(env, fd);
}

struct mapping {
  void *addr;
  size_t length;
};

static void unmap_finalizer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  struct mapping *m = (struct mapping *)hint;
  munmap(m->addr, m->length);
  free(m);
}

static napi_value js_mmap(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t fd, offset, length;
  bool writable;
  if (get_args(env, info, 4, argv) != 0 || get_int(env, argv[0], &fd) != 0 || get_int(env, argv[1], &offset) != 0 ||
      get_int(env, argv[2], &length) != 0 || napi_get_value_bool(env, argv[3], &writable) != napi_ok) {
    napi_throw_error(env, "EINVAL", "mmap(fd, offset, length, writable)");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (length <= 0 || offset < 0 || offset % page != 0) return throw_errno(env, EINVAL, "mmap: bad offset or length");
  /* Touching a shared mapping beyond the end of its file raises SIGBUS: refuse a range the file does not hold. */
  struct stat st;
  if (fstat((int)fd, &st) != 0) return throw_errno(env, errno, "fstat");
  if (S_ISREG(st.st_mode) && (offset + length > st.st_size)) return throw_errno(env, ENXIO, "mmap: range beyond the end of the file");
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void *addr = mmap(NULL, (size_t)length, prot, MAP_SHARED, (int)fd, (off_t)offset);
  if (addr == MAP_FAILED) return throw_errno(env, errno, "mmap");
  struct mapping *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(addr, (size_t)length);
    return throw_errno(env, ENOMEM, "mmap");
  }
  m->addr = addr;
  m->length = (size_t)length;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, (size_t)length, unmap_finalizer, m, &ab) != napi_ok) {
    munmap(addr, (size_t)length);
    free(m);
    napi_throw_error(env, "EIO", "mmap: the runtime refused an external ArrayBuffer");
    return NULL;
  }
  return ab;
}

/* A libuv poll watcher calling back into JavaScript. */
struct watcher {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  int closing;   /* unwatched (or collected): no more callbacks */
  int closed;    /* libuv finished closing the handle */
  int collected; /* the JS handle was garbage-collected */
};

/* `w` is freed once both libuv and the garbage collector are done with it. */
static void on_closed(uv_handle_t *h) {
  struct watcher *w = (struct watcher *)h->data;
  w->closed = 1;
  if (w->collected) free(w);
}

static void stop_watcher(napi_env env, struct watcher *w) {
  w->closing = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->cb);
  napi_async_destroy(env, w->ctx);
  uv_close((uv_handle_t *)&w->poll, on_closed);
}

static void on_poll(uv_poll_t *p, int status, int events) {
  struct watcher *w = (struct watcher *)p->data;

  if (w->closing) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, w->cb, &cb);
  napi_get_global(env, &recv);
  /* A poll error (e.g. the peer vanished) is reported as readable: the next recvmsg returns it. */
  napi_create_int32(env, status < 0 ? 1 : events, &arg);
  if (napi_make_callback(env, w->ctx, recv, cb, 1, &arg, &result) == napi_pending_exception) {
    /* The callback threw: hand it to Node's uncaught-exception machinery, as for any event callback. */
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static int uv_events(int64_t e) {
  return ((e & 1) ? UV_READABLE : 0) | ((e & 2) ? UV_WRITABLE : 0);
}

static void watcher_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct watcher *w = (struct watcher *)data;
  w->collected = 1;
  /* Collected while still watching (the JS side unwatches first; this is a safety net): stop it. */
  if (!w->closing) stop_watcher(env, w);
  else if (w->closed) free(w);
}

static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fd, events;
  if (get_args(env, info, 3, argv) != 0 || get_int(env, argv[0], &fd) != 0 || get_int(env, argv[1], &events) != 0) {
    napi_throw_error(env, "EINVAL", "watch(fd, events, cb)");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, "EIO", "watch: no event loop");
    return NULL;
  }
  struct watcher *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, ENOMEM, "watch");
  w->env = env;
  int r = uv_poll_init(loop, &w->poll, (int)fd);
  if (r != 0) {
    free(w);
    napi_throw_error(env, "EBADF", uv_strerror(r));
    return NULL;
  }
  w->poll.data = w;
  napi_value name;
  napi_create_string_utf8(env, "vidxd_fd.watch", NAPI_AUTO_LENGTH, &name);
  CHECK(napi_create_reference(env, argv[2], 1, &w->cb));
  CHECK(napi_async_init(env, NULL, name, &w->ctx));
  uv_poll_start(&w->poll, uv_events(events), on_poll);
  napi_value handle;
  CHECK(napi_create_external(env, w, watcher_finalize, NULL, &handle));
  return handle;
}

static struct watcher *get_watcher(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (struct watcher *)data;
}

static napi_value js_rewatch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t events;
  struct watcher *w;
  if (get_args(env, info, 2, argv) != 0 || (w = get_watcher(env, argv[0])) == NULL || get_int(env, argv[1], &events) != 0) {
    napi_throw_error(env, "EINVAL", "rewatch(handle, events)");
    return NULL;
  }
  if (!w->closing) uv_poll_start(&w->poll, uv_events(events), on_poll);
  return NULL;
}

static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct watcher *w;
  if (get_args(env, info, 1, argv) != 0 || (w = get_watcher(env, argv[0])) == NULL) {
    napi_throw_error(env, "EINVAL", "unwatch(handle)");
    return NULL;
  }
  if (!w->closing) stop_watcher(env, w);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"accept", NULL, js_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvmsg", NULL, js_recvmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendmsg", NULL, js_sendmsg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfd", NULL, js_eventfd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdWrite", NULL, js_eventfd_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdRead", NULL, js_eventfd_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"memfd", NULL, js_memfd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mmap", NULL, js_mmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watch", NULL, js_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rewatch", NULL, js_rewatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
