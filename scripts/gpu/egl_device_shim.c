/* egl_device_shim.c — LD_PRELOAD for libobs-opengl 29 on a GPU with no display.
 *
 * libobs-opengl (OBS 28–29 on Linux) asks EGL for a display of the X11 platform
 * (eglGetPlatformDisplayEXT(EGL_PLATFORM_X11_EXT, XOpenDisplay(...))) and for a config
 * that can draw to windows and pbuffers; then it renders off-screen only (a 2x2 pbuffer
 * and framebuffer objects) unless it is given a window. NVIDIA's EGL cannot use an Xvfb
 * display, but it renders head-less on its own device platform. With this library
 * preloaded and JUMP_EGL_DEVICE set (the EGL device index, usually 0):
 *   - the X11 display request returns an EGL display of that device
 *     (EGL_EXT_device_enumeration + EGL_EXT_platform_device);
 *   - config requests lose EGL_WINDOW_BIT, which a device display has no use for.
 * libobs still opens the X display (Xvfb) for its hotkeys and the XSync it does.
 * Without JUMP_EGL_DEVICE it changes nothing. No EGL headers needed.
 *
 * Build: gcc -shared -fPIC -O2 -o libjump_egl_device.so egl_device_shim.c -ldl
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *EGLDisplay;
typedef void *EGLConfig;
typedef void *EGLDeviceEXT;
typedef int32_t EGLint;
typedef unsigned int EGLenum;
typedef unsigned int EGLBoolean;
typedef void (*eglproc)(void);

#define EGL_NO_DISPLAY ((EGLDisplay)0)
#define EGL_PLATFORM_X11_EXT 0x31D5
#define EGL_PLATFORM_DEVICE_EXT 0x313F
#define EGL_SURFACE_TYPE 0x3033
#define EGL_WINDOW_BIT 0x0004
#define EGL_NONE 0x3038

typedef eglproc (*get_proc_t)(const char *);
typedef EGLDisplay (*get_platform_display_t)(EGLenum, void *, const EGLint *);
typedef EGLBoolean (*query_devices_t)(EGLint, EGLDeviceEXT *, EGLint *);
typedef EGLBoolean (*choose_config_t)(EGLDisplay, const EGLint *, EGLConfig *, EGLint,
				      EGLint *);

static void *libegl;
static get_proc_t real_get_proc;
static get_platform_display_t real_get_platform_display;
static EGLDisplay device_display = EGL_NO_DISPLAY;

/* libEGL is loaded by libobs-opengl's dlopen (local scope), so RTLD_NEXT cannot see it. */
static void *egl_symbol(const char *name)
{
	if (!libegl)
		libegl = dlopen("libEGL.so.1", RTLD_LAZY | RTLD_LOCAL);
	return libegl ? dlsym(libegl, name) : NULL;
}

static int active(void)
{
	return getenv("JUMP_EGL_DEVICE") != NULL;
}

static EGLDisplay open_device(void)
{
	query_devices_t query = (query_devices_t)real_get_proc("eglQueryDevicesEXT");
	EGLDeviceEXT devices[16];
	EGLint count = 0;
	int index = atoi(getenv("JUMP_EGL_DEVICE"));

	if (!query || !query(16, devices, &count) || count == 0) {
		fprintf(stderr, "jump-egl-device: no EGL devices, keeping the X11 display\n");
		return EGL_NO_DISPLAY;
	}
	if (index < 0 || index >= count)
		index = 0;
	fprintf(stderr, "jump-egl-device: %d EGL device(s), libobs gets device %d\n", count,
		index);
	return real_get_platform_display(EGL_PLATFORM_DEVICE_EXT, devices[index], NULL);
}

static EGLDisplay shim_get_platform_display(EGLenum platform, void *native,
					    const EGLint *attribs)
{
	if (platform == EGL_PLATFORM_X11_EXT && active()) {
		EGLDisplay display = open_device();
		if (display != EGL_NO_DISPLAY) {
			device_display = display;
			return display;
		}
	}
	return real_get_platform_display(platform, native, attribs);
}

eglproc eglGetProcAddress(const char *name)
{
	if (!real_get_proc)
		real_get_proc = (get_proc_t)egl_symbol("eglGetProcAddress");
	if (!real_get_proc)
		return NULL;
	eglproc proc = real_get_proc(name);
	if (proc && name && strcmp(name, "eglGetPlatformDisplayEXT") == 0) {
		real_get_platform_display = (get_platform_display_t)proc;
		return (eglproc)shim_get_platform_display;
	}
	return proc;
}

EGLBoolean eglChooseConfig(EGLDisplay display, const EGLint *attribs, EGLConfig *configs,
			   EGLint size, EGLint *count)
{
	static choose_config_t real;
	EGLint copy[64];
	int i = 0;

	if (!real)
		real = (choose_config_t)egl_symbol("eglChooseConfig");
	if (!real)
		return 0;
	if (display != device_display || !attribs)
		return real(display, attribs, configs, size, count);
	for (; attribs[i] != EGL_NONE && i < 62; i += 2) {
		copy[i] = attribs[i];
		copy[i + 1] = attribs[i] == EGL_SURFACE_TYPE ? attribs[i + 1] & ~EGL_WINDOW_BIT
							     : attribs[i + 1];
	}
	copy[i] = EGL_NONE;
	return real(display, copy, configs, size, count);
}
