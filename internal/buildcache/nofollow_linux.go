package buildcache

import "syscall"

// syscallNoFollow makes opens fail on a symbolic link in the last component.
const syscallNoFollow = syscall.O_NOFOLLOW
