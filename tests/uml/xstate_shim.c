/*
 * LD_PRELOAD shim for Debian's user-mode-linux 6.1 on hosts whose CPUs have AMX.
 *
 * UML saves and restores its processes' vector registers with PTRACE_{GET,SET}REGSET NT_X86_XSTATE in a
 * buffer sized for the features it knows (2,696 bytes with AVX-512). The host kernel accepts a SETREGSET
 * only with its whole XSAVE size (11,008 bytes with AMX) and answers EFAULT, and UML panics ("ptrace set
 * fp regs failed, errno = 14"). Here a short SETREGSET becomes a whole one: the process's current state,
 * overwritten with what UML gave, keeping the current state of the components UML's buffer cannot hold.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NT_X86_XSTATE 0x202
#define XSAVE_HEADER_OFFSET 512

typedef long (*ptrace_function)(int, pid_t, void *, void *);
static unsigned char whole_state[64 * 1024] __attribute__((aligned(64)));

/* The XSAVE components whose whole area lies within the first `length` bytes (standard format). */
static uint64_t components_within(size_t length)
{
    uint64_t within = 3; /* x87 and SSE: the legacy area */
    for (unsigned int component = 2; component < 64; component++) {
        unsigned int size, offset, ecx, edx;
        if (!__get_cpuid_count(0xd, component, &size, &offset, &ecx, &edx) || size == 0)
            continue;
        if (offset + size <= length)
            within |= 1ULL << component;
    }
    return within;
}

long ptrace(enum __ptrace_request request, ...)
{
    static ptrace_function real_ptrace;
    static size_t known_length;
    static uint64_t known_components;
    va_list arguments;
    va_start(arguments, request);
    pid_t pid = va_arg(arguments, pid_t);
    void *address = va_arg(arguments, void *);
    void *data = va_arg(arguments, void *);
    va_end(arguments);
    if (!real_ptrace)
        real_ptrace = (ptrace_function)dlsym(RTLD_NEXT, "ptrace");
    if (request == PTRACE_SETREGSET && (long)address == NT_X86_XSTATE) {
        struct iovec *given = data;
        struct iovec whole = {whole_state, sizeof whole_state};
        if (real_ptrace(PTRACE_GETREGSET, pid, address, &whole) == 0 && whole.iov_len > given->iov_len) {
            if (known_length != given->iov_len) {
                /* cpuid traps to the hypervisor on a VM: ask once, not at every context switch. */
                known_components = components_within(given->iov_len);
                known_length = given->iov_len;
            }
            uint64_t *features = (uint64_t *)(whole_state + XSAVE_HEADER_OFFSET);
            uint64_t kept = *features & ~known_components;
            memcpy(whole_state, given->iov_base, given->iov_len);
            *features = (*features & known_components) | kept;
            return real_ptrace(PTRACE_SETREGSET, pid, address, &whole);
        }
    }
    return real_ptrace(request, pid, address, data);
}
