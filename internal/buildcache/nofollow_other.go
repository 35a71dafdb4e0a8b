//go:build !linux

package buildcache

const syscallNoFollow = 0
