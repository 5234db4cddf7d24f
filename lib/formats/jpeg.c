/* jpeg.c - JPEG images decoded with libjpeg-turbo, as Neuroglancer precomputed stores its image chunks */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "core/diag.h"
#include "formats/jpeg.h"
#include "core/banned.h"

/* libjpeg reports errors through a callback that must not return: it jumps back here. */
struct err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void
on_error(j_common_ptr cinfo)
{
	struct err *e = (struct err *)cinfo->err;

	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jb, 1);
}

/* Warnings (a corrupt stream libjpeg would pad) are errors: a chunk is exact or refused. */
static void
on_message(j_common_ptr cinfo, int level)
{
	if (level < 0)
		on_error(cinfo);
}

int
em_jpeg_decode(const void *p, size_t n, size_t width, size_t height, int channels,
    unsigned char *out)
{
	struct jpeg_decompress_struct ci;
	struct err e;
	size_t row = width * (size_t)channels;
	volatile int rc = -1;

	if (n < 4 || ((const unsigned char *)p)[0] != 0xff || ((const unsigned char *)p)[1] != 0xd8)
		return em_fail("not a JPEG image (no SOI marker)");
	if (n > (size_t)(unsigned long)-1)
		return em_fail("JPEG image too large");
	memset(&ci, 0, sizeof(ci));
	ci.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = on_error;
	e.pub.emit_message = on_message;
	e.msg[0] = '\0';
	if (setjmp(e.jb)) {
		em_fail("corrupt JPEG image: %s", e.msg);
		goto out;
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, (const unsigned char *)p, (unsigned long)n);
	jpeg_read_header(&ci, TRUE);
	if (ci.image_width != width || ci.image_height != height || ci.num_components != channels) {
		em_fail("JPEG image is %ux%u with %d components, expected %zux%zu with %d",
		    ci.image_width, ci.image_height, ci.num_components, width, height, channels);
		goto out;
	}
	ci.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&ci);
	while (ci.output_scanline < ci.output_height) {
		JSAMPROW r = out + (size_t)ci.output_scanline * row;
		if (jpeg_read_scanlines(&ci, &r, 1) != 1) {
			em_fail("corrupt JPEG image: no more scanlines at %u", ci.output_scanline);
			goto out;
		}
	}
	jpeg_finish_decompress(&ci);
	rc = 0;
out:
	jpeg_destroy_decompress(&ci);
	return rc;
}
