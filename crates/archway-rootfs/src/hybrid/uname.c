/* archway's uname shim for the native programs of a hybrid view (compiled with tcc when the
 * view is made; loaded by the amd64 loader from /etc/ld.so.preload as /usr/$LIB/...).
 *
 * Native python (meson: platform.machine()) and cmake (CMAKE_HOST_SYSTEM_PROCESSOR) ask
 * uname(2) for the machine; in the view they must see the target's, as the emulated build
 * does (QEMU's linux-user uname reports the emulated CPU: linux-user/syscall.c, TARGET_NR_uname).
 * No libc headers: the prefix has none, and the layout is the kernel's struct new_utsname
 * (include/uapi/linux/utsname.h: six fields of __NEW_UTS_LEN + 1 = 65 bytes). */

struct archway_utsname {
    char sysname[65];
    char nodename[65];
    char release[65];
    char version[65];
    char machine[65];
    char domainname[65];
};

extern long syscall(long number, ...);

/* __NR_uname on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl). */
#define ARCHWAY_NR_UNAME 63

int uname(struct archway_utsname *name)
{
    static const char machine[] = ARCHWAY_MACHINE;
    unsigned long index;
    if (syscall(ARCHWAY_NR_UNAME, name) != 0)
        return -1;
    for (index = 0; index < sizeof machine; index++)
        name->machine[index] = machine[index];
    return 0;
}
