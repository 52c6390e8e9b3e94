/* halite.h: the in-sandbox API of halite's runtime object libhalite.so.
 *
 * A module built with `halite cc` may call these without any libc: the
 * sandbox loader binds them to libhalite.so, whose code enters host calls.
 * dlopen, dlsym, dlvsym, dlclose, dlerror, dladdr and dl_iterate_phdr act
 * on the loader of the sandbox the module runs in, with glibc's meanings
 * (RTLD_LAZY is treated as RTLD_NOW). dlerror's string is per thread.
 * halite_syscall makes a host call: Linux x86-64 syscall numbers and
 * arguments (as far as the sandbox implements them: write to fds 1 and 2,
 * the VFS file calls, ...), results as the raw syscall returns them
 * (-errno on failure, errno is not set).
 *
 * If <dlfcn.h> or <link.h> is included first, their declarations are used
 * and the duplicates here are skipped. */
#ifndef HALITE_H
#define HALITE_H

#ifdef __cplusplus
extern "C" {
#endif

long halite_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

#ifndef _DLFCN_H
/* glibc's values (bits/dlfcn.h). */
#define RTLD_LAZY 0x00001
#define RTLD_NOW 0x00002
#define RTLD_BINDING_MASK 0x3
#define RTLD_NOLOAD 0x00004
#define RTLD_DEEPBIND 0x00008
#define RTLD_GLOBAL 0x00100
#define RTLD_LOCAL 0
#define RTLD_NODELETE 0x01000
#define RTLD_NEXT ((void *)-1l)
#define RTLD_DEFAULT ((void *)0)

typedef struct {
	const char *dli_fname; /* the object's path */
	void *dli_fbase;       /* its load bias */
	const char *dli_sname; /* nearest symbol at or below the address, or 0 */
	void *dli_saddr;       /* its address, or 0 */
} Dl_info;

void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
void *dlvsym(void *handle, const char *name, const char *version);
int dlclose(void *handle);
char *dlerror(void);
int dladdr(const void *addr, Dl_info *info);
#endif

#ifndef _LINK_H
typedef struct {
	unsigned int p_type;
	unsigned int p_flags;
	unsigned long p_offset;
	unsigned long p_vaddr;
	unsigned long p_paddr;
	unsigned long p_filesz;
	unsigned long p_memsz;
	unsigned long p_align;
} halite_phdr; /* Elf64_Phdr */

struct dl_phdr_info {
	unsigned long dlpi_addr;        /* load bias */
	const char *dlpi_name;          /* path */
	const halite_phdr *dlpi_phdr;   /* program headers (PT_LOAD, PT_TLS) */
	unsigned short dlpi_phnum;
	unsigned long long dlpi_adds;   /* objects loaded so far */
	unsigned long long dlpi_subs;   /* objects unloaded so far */
	__SIZE_TYPE__ dlpi_tls_modid;   /* TLS module id, 0 without TLS */
	void *dlpi_tls_data;            /* the calling thread's block, or 0 */
};

int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *info, __SIZE_TYPE__ size, void *data), void *data);
#endif

#ifdef __cplusplus
}
#endif
#endif
