/*
 * JPEG decoding with DCT-domain downscaling (libjpeg-turbo's scale_denom 1/2/4/8), as a Node-API
 * addon. Why: prediction decodes thousands of small cell crops per second; sharp's libvips
 * pipeline costs ~2 ms per 360x363 JPEG on this hardware, libjpeg-turbo decoding at 1/4 scale
 * ~0.35 ms.
 *
 *   readHeader(buf) -> { width, height, components, orientation }            (sync, header only)
 *   decode(buf, scaleDenom, maxPixels) -> Promise<{ data, width, height }>    (libuv pool)
 *   preprocessFiles(paths, boxes, size, margin, maxPixels, out, status)       (libuv pool)
 *
 * `decode` gives packed RGB (HWC, 3 bytes per pixel) at ceil(width / scaleDenom) x
 * ceil(height / scaleDenom), which TypeScript crops and resamples (resample.ts). `preprocessFiles`,
 * the hot path, does the whole job per file on a pool thread, computing the crop, the scale and
 * the resample in the same float64 steps and integer arithmetic as the TypeScript code, so both
 * give the same bytes (a test checks). libjpeg errors (corrupt data, unsupported colour spaces
 * such as CMYK) reject with the library's message; so do warnings (truncated data), because a
 * silently grey-filled image would be classified as if it were real.
 */
#include <node_api.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <jpeglib.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error_exit(j_common_ptr cinfo) {
  error_mgr* err = (error_mgr*)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

/* Warnings (level -1) become errors; trace messages (level >= 0) are ignored. */
static void on_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0) on_error_exit(cinfo);
}

static void setup_errors(struct jpeg_decompress_struct* cinfo, error_mgr* err) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = on_error_exit;
  err->pub.emit_message = on_emit_message;
  err->message[0] = 0;
}

/* EXIF orientation (tag 0x0112 in IFD0) from a saved APP1 marker; 1 when absent or unreadable. */
static int read_orientation(struct jpeg_decompress_struct* cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 1 || m->data_length < 14) continue;
    const unsigned char* d = m->data;
    if (memcmp(d, "Exif\0\0", 6) != 0) continue;
    const unsigned char* t = d + 6;
    unsigned int len = m->data_length - 6;
    int le = t[0] == 'I';
    #define U16(p) (le ? (unsigned)((p)[0] | ((p)[1] << 8)) : (unsigned)(((p)[0] << 8) | (p)[1]))
    #define U32(p) (le ? ((unsigned)(p)[0] | ((unsigned)(p)[1] << 8) | ((unsigned)(p)[2] << 16) | ((unsigned)(p)[3] << 24)) \
                       : (((unsigned)(p)[0] << 24) | ((unsigned)(p)[1] << 16) | ((unsigned)(p)[2] << 8) | (unsigned)(p)[3]))
    if (len < 8) return 1;
    unsigned int ifd = U32(t + 4);
    if (ifd + 2 > len) return 1;
    unsigned int count = U16(t + ifd);
    for (unsigned int i = 0; i < count; i++) {
      unsigned int e = ifd + 2 + i * 12;
      if (e + 12 > len) return 1;
      if (U16(t + e) == 0x0112) {
        unsigned int v = U16(t + e + 8);
        return v >= 1 && v <= 8 ? (int)v : 1;
      }
    }
    #undef U16
    #undef U32
    return 1;
  }
  return 1;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "jpeg-scaled: Node-API call failed");    \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value make_number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int get_buffer(napi_env env, napi_value value, void** data, size_t* length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, data, length) == napi_ok;
}

static napi_value read_header(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data;
  size_t length;
  if (argc < 1 || !get_buffer(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, NULL, "readHeader(buffer): expected a Buffer");
    return NULL;
  }
  struct jpeg_decompress_struct cinfo;
  error_mgr err;
  setup_errors(&cinfo, &err);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    napi_throw_error(env, "ERR_JPEG", err.message);
    return NULL;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, (const unsigned char*)data, (unsigned long)length);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  int orientation = read_orientation(&cinfo);
  napi_value out;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_set_named_property(env, out, "width", make_number(env, cinfo.image_width)));
  CHECK(napi_set_named_property(env, out, "height", make_number(env, cinfo.image_height)));
  CHECK(napi_set_named_property(env, out, "components", make_number(env, cinfo.num_components)));
  CHECK(napi_set_named_property(env, out, "orientation", make_number(env, orientation)));
  jpeg_destroy_decompress(&cinfo);
  return out;
}

/*
 * Decodes the rest of an image whose header has been read, at 1/denom scale, into a new packed RGB
 * buffer. The buffer is stored in *pixels before any scanline is read, so that a caller's longjmp
 * handler can free it. Returns 0 when out of memory.
 */
static int decode_rgb_scaled(struct jpeg_decompress_struct* cinfo, unsigned int denom, unsigned char* volatile* pixels) {
  cinfo->scale_num = 1;
  cinfo->scale_denom = denom;
  cinfo->out_color_space = JCS_RGB;
  cinfo->dct_method = JDCT_ISLOW;
  jpeg_start_decompress(cinfo);
  size_t stride = (size_t)cinfo->output_width * 3;
  *pixels = (unsigned char*)malloc(stride * cinfo->output_height);
  if (!*pixels) return 0;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = *pixels + (size_t)cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return 1;
}

#define WEIGHT_ONE (1 << 14)

typedef struct {
  int32_t* offset;
  int32_t* count;
  int32_t* index;
  int32_t* weight;
  size_t taps;
} axis_taps;

typedef struct {
  uint32_t out_width;
  uint32_t out_height;
  int32_t row_lo;
  int32_t row_hi;
  axis_taps xs;
  axis_taps ys;
} resample_plan;

static void free_axis(axis_taps* a) {
  free(a->offset);
  free(a->count);
  free(a->index);
  free(a->weight);
}

/* Same integer arithmetic as applyResamplePlan (resample.ts). Returns NULL when out of memory. */
static unsigned char* apply_plan(const unsigned char* src, uint32_t width, const resample_plan* p) {
  uint32_t rows = (uint32_t)(p->row_hi - p->row_lo + 1);
  size_t line = (size_t)p->out_width * 3;
  int32_t* tmp = (int32_t*)malloc(rows * line * sizeof(int32_t));
  int32_t* acc = (int32_t*)malloc(line * sizeof(int32_t));
  unsigned char* out = (unsigned char*)malloc(line * p->out_height);
  if (!tmp || !acc || !out) {
    free(tmp);
    free(acc);
    free(out);
    return NULL;
  }
  for (uint32_t r = 0; r < rows; r++) {
    const unsigned char* row = src + (size_t)(p->row_lo + r) * width * 3;
    int32_t* t = tmp + r * line;
    for (uint32_t x = 0; x < p->out_width; x++, t += 3) {
      int32_t red = 0, green = 0, blue = 0;
      for (int32_t k = p->xs.offset[x]; k < p->xs.offset[x] + p->xs.count[x]; k++) {
        const unsigned char* px = row + (size_t)p->xs.index[k] * 3;
        int32_t w = p->xs.weight[k];
        red += px[0] * w;
        green += px[1] * w;
        blue += px[2] * w;
      }
      t[0] = (red + 512) >> 10;
      t[1] = (green + 512) >> 10;
      t[2] = (blue + 512) >> 10;
    }
  }
  for (uint32_t y = 0; y < p->out_height; y++) {
    memset(acc, 0, line * sizeof(int32_t));
    for (int32_t k = p->ys.offset[y]; k < p->ys.offset[y] + p->ys.count[y]; k++) {
      const int32_t* from = tmp + (size_t)(p->ys.index[k] - p->row_lo) * line;
      int32_t w = p->ys.weight[k];
      for (size_t c = 0; c < line; c++) acc[c] += from[c] * w;
    }
    unsigned char* o = out + y * line;
    for (size_t c = 0; c < line; c++) {
      int32_t v = (acc[c] + (1 << 17)) >> 18;
      o[c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
  free(tmp);
  free(acc);
  return out;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  const unsigned char* input;
  size_t input_length;
  int scale_denom;
  double max_pixels;
  unsigned char* pixels;
  unsigned int width;
  unsigned int height;
  char error[JMSG_LENGTH_MAX + 64];
} decode_task;

static void execute_decode(napi_env env, void* arg) {
  (void)env;
  decode_task* task = (decode_task*)arg;
  struct jpeg_decompress_struct cinfo;
  error_mgr err;
  setup_errors(&cinfo, &err);
  if (setjmp(err.jump)) {
    snprintf(task->error, sizeof task->error, "%s", err.message);
    free(task->pixels);
    task->pixels = NULL;
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, task->input, (unsigned long)task->input_length);
  jpeg_read_header(&cinfo, TRUE);
  if ((double)cinfo.image_width * (double)cinfo.image_height > task->max_pixels) {
    snprintf(task->error, sizeof task->error, "image is %ux%u pixels, over the limit of %.0f",
             cinfo.image_width, cinfo.image_height, task->max_pixels);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  /* task->pixels lives on the heap, so the longjmp handler above sees the buffer. */
  int decoded = decode_rgb_scaled(&cinfo, (unsigned int)task->scale_denom, &task->pixels);
  task->width = cinfo.output_width;
  task->height = cinfo.output_height;
  if (!decoded) {
    snprintf(task->error, sizeof task->error, "out of memory for %ux%u pixels", task->width, task->height);
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  jpeg_destroy_decompress(&cinfo);
}

static void finalize_pixels(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void complete_decode(napi_env env, napi_status status, void* arg) {
  decode_task* task = (decode_task*)arg;
  napi_value result;
  if (status != napi_ok || task->error[0] || !task->pixels) {
    napi_value message, error;
    const char* text = task->error[0] ? task->error : "JPEG decode was cancelled";
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, task->deferred, error);
  } else {
    napi_value buffer;
    size_t size = (size_t)task->width * task->height * 3;
    if (napi_create_external_buffer(env, size, task->pixels, finalize_pixels, NULL, &buffer) != napi_ok) {
      // Some runtimes forbid external buffers; copy instead.
      napi_create_buffer_copy(env, size, task->pixels, NULL, &buffer);
      free(task->pixels);
    }
    task->pixels = NULL;
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "data", buffer);
    napi_set_named_property(env, result, "width", make_number(env, task->width));
    napi_set_named_property(env, result, "height", make_number(env, task->height));
    napi_resolve_deferred(env, task->deferred, result);
  }
  free(task->pixels);
  napi_delete_reference(env, task->input_ref);
  napi_delete_async_work(env, task->work);
  free(task);
}

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data;
  size_t length;
  if (argc < 3 || !get_buffer(env, argv[0], &data, &length)) {
    napi_throw_type_error(env, NULL, "decode(buffer, scaleDenom, maxPixels): expected a Buffer");
    return NULL;
  }
  int32_t denom = 0;
  double max_pixels = 0;
  CHECK(napi_get_value_int32(env, argv[1], &denom));
  CHECK(napi_get_value_double(env, argv[2], &max_pixels));
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    napi_throw_range_error(env, NULL, "decode: scaleDenom must be 1, 2, 4 or 8");
    return NULL;
  }
  decode_task* task = (decode_task*)calloc(1, sizeof(decode_task));
  if (!task) {
    napi_throw_error(env, NULL, "decode: out of memory");
    return NULL;
  }
  task->input = (const unsigned char*)data;
  task->input_length = length;
  task->scale_denom = denom;
  task->max_pixels = max_pixels;
  napi_value promise, name;
  // The reference keeps the input Buffer alive while a pool thread reads it.
  CHECK(napi_create_reference(env, argv[0], 1, &task->input_ref));
  CHECK(napi_create_promise(env, &task->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "jpeg-scaled-decode", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, execute_decode, complete_decode, task, &task->work));
  CHECK(napi_queue_async_work(env, task->work));
  return promise;
}

/* ---- Batch preprocessing: read + decode + crop + resample, many files per pool task ---- */

/* JavaScript's Math.round (round half up). */
static double js_round(double v) { return floor(v + 0.5); }

/* computeAxisTaps (resample.ts), with the same float64 steps and fixed-point rounding. */
static int compute_axis(double start, double length, uint32_t source_size, uint32_t out_size, axis_taps* a) {
  double scale = length / out_size;
  double radius = scale > 1 ? scale : 1;
  int32_t max_taps = (int32_t)ceil(radius) * 2 + 3;
  int32_t first = (int32_t)floor(start);
  if (first < 0) first = 0;
  double end = ceil(start + length);
  int32_t last = (int32_t)(end < source_size ? end : source_size) - 1;
  a->offset = (int32_t*)malloc(out_size * sizeof(int32_t));
  a->count = (int32_t*)malloc(out_size * sizeof(int32_t));
  a->index = (int32_t*)malloc((size_t)out_size * max_taps * sizeof(int32_t));
  a->weight = (int32_t*)malloc((size_t)out_size * max_taps * sizeof(int32_t));
  double* real = (double*)malloc((size_t)max_taps * sizeof(double));
  a->taps = (size_t)out_size * max_taps;
  if (!a->offset || !a->count || !a->index || !a->weight || !real) {
    free(real);
    return 0;
  }
  for (uint32_t i = 0; i < out_size; i++) {
    double centre = start + (i + 0.5) * scale;
    int32_t lo = (int32_t)floor(centre - radius);
    int32_t hi = (int32_t)ceil(centre + radius);
    int32_t base = (int32_t)i * max_taps;
    int32_t n = 0;
    double total = 0;
    for (int32_t j = lo; j <= hi; j++) {
      double w = 1 - fabs((j + 0.5 - centre) / radius);
      if (w <= 0) continue;
      int32_t src = j < first ? first : j > last ? last : j;
      if (n > 0 && a->index[base + n - 1] == src) {
        real[n - 1] += w;
      } else {
        a->index[base + n] = src;
        real[n] = w;
        n++;
      }
      total += w;
    }
    int32_t sum = 0, heaviest = 0;
    for (int32_t k = 0; k < n; k++) {
      int32_t q = (int32_t)floor(real[k] / total * WEIGHT_ONE + 0.5);
      a->weight[base + k] = q;
      sum += q;
      if (q > a->weight[base + heaviest]) heaviest = k;
    }
    a->weight[base + heaviest] += WEIGHT_ONE - sum;
    a->offset[i] = base;
    a->count[i] = n;
  }
  free(real);
  return 1;
}

/* computeCropRect (preprocess-image.ts): box[0] is NaN for "no box" (centre square). */
static void compute_crop(double width, double height, const double* box, double margin, double rect[4]) {
  if (isnan(box[0])) {
    double side = width < height ? width : height;
    rect[0] = floor((width - side) / 2);
    rect[1] = floor((height - side) / 2);
    rect[2] = rect[3] = side;
    return;
  }
  double long_side = box[2] > box[3] ? box[2] : box[3];
  double side = js_round(long_side * (1 + 2 * margin));
  if (side > width) side = width;
  if (side > height) side = height;
  if (side < 1) side = 1;
  double cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2;
  double left = cx - side / 2, top = cy - side / 2;
  if (left < 0) left = 0;
  if (top < 0) top = 0;
  if (left > width - side) left = width - side;
  if (top > height - side) top = height - side;
  rect[0] = js_round(left);
  rect[1] = js_round(top);
  rect[2] = rect[3] = side;
}

enum { ITEM_OK = 0, ITEM_FALLBACK = 1 };

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref out_ref;
  napi_ref status_ref;
  char** paths;
  const double* boxes; /* 4 per item, copied */
  uint32_t count;
  uint32_t size;
  double margin;
  double max_pixels;
  unsigned char* out;  /* count * size * size * 3, inside a JS Uint8Array kept alive by out_ref */
  int32_t* status;     /* inside a JS Int32Array kept alive by status_ref */
} batch_task;

static unsigned char* read_whole_file(const char* path, size_t* length) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char* data = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = (unsigned char*)malloc((size_t)n))) {
      if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
      } else {
        *length = (size_t)n;
      }
    }
  }
  fclose(f);
  return data;
}

/* One item: ITEM_OK with its pixels written to `out`, or ITEM_FALLBACK for the caller's sharp path. */
static int preprocess_one(const char* path, const double* box, uint32_t size, double margin, double max_pixels, unsigned char* out) {
  size_t length = 0;
  unsigned char* data = read_whole_file(path, &length);
  if (!data || length < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff) {
    free(data);
    return ITEM_FALLBACK;
  }
  struct jpeg_decompress_struct cinfo;
  error_mgr err;
  /* volatile: these change between setjmp and a possible longjmp out of libjpeg. */
  unsigned char* volatile pixels = NULL;
  unsigned char* volatile resampled = NULL;
  resample_plan plan;
  memset(&plan, 0, sizeof plan);
  volatile int result = ITEM_FALLBACK;
  setup_errors(&cinfo, &err);
  if (setjmp(err.jump)) goto done;
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)length);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  if (read_orientation(&cinfo) != 1) goto done;
  if ((double)cinfo.image_width * cinfo.image_height > max_pixels) goto done;
  double rect[4];
  compute_crop(cinfo.image_width, cinfo.image_height, box, margin, rect);
  unsigned int denom = 1;
  for (unsigned int d = 8; d >= 2; d /= 2) {
    if (rect[2] / d >= size) {
      denom = d;
      break;
    }
  }
  if (!decode_rgb_scaled(&cinfo, denom, &pixels)) goto done;
  if (!compute_axis(rect[0] / denom, rect[2] / denom, cinfo.output_width, size, &plan.xs)) goto done;
  if (!compute_axis(rect[1] / denom, rect[3] / denom, cinfo.output_height, size, &plan.ys)) goto done;
  plan.out_width = plan.out_height = size;
  plan.row_lo = (int32_t)cinfo.output_height;
  plan.row_hi = -1;
  for (uint32_t y = 0; y < size; y++) {
    for (int32_t k = plan.ys.offset[y]; k < plan.ys.offset[y] + plan.ys.count[y]; k++) {
      if (plan.ys.index[k] < plan.row_lo) plan.row_lo = plan.ys.index[k];
      if (plan.ys.index[k] > plan.row_hi) plan.row_hi = plan.ys.index[k];
    }
  }
  resampled = apply_plan(pixels, cinfo.output_width, &plan);
  if (!resampled) goto done;
  memcpy(out, resampled, (size_t)size * size * 3);
  result = ITEM_OK;
done:
  jpeg_destroy_decompress(&cinfo);
  free(resampled);
  free(pixels);
  free_axis(&plan.xs);
  free_axis(&plan.ys);
  free(data);
  return result;
}

static void execute_batch(napi_env env, void* arg) {
  (void)env;
  batch_task* task = (batch_task*)arg;
  size_t per = (size_t)task->size * task->size * 3;
  for (uint32_t i = 0; i < task->count; i++) {
    task->status[i] = preprocess_one(task->paths[i], task->boxes + 4 * i, task->size, task->margin, task->max_pixels,
                                     task->out + i * per);
  }
}

static void complete_batch(napi_env env, napi_status status, void* arg) {
  batch_task* task = (batch_task*)arg;
  if (status == napi_ok) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, task->deferred, undefined);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "preprocessFiles was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, task->deferred, error);
  }
  for (uint32_t i = 0; i < task->count; i++) free(task->paths[i]);
  free(task->paths);
  free((void*)task->boxes);
  napi_delete_reference(env, task->out_ref);
  napi_delete_reference(env, task->status_ref);
  napi_delete_async_work(env, task->work);
  free(task);
}

static void* typed_array_data(napi_env env, napi_value value, napi_typedarray_type want, size_t* length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void* data = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok || type != want) return NULL;
  return data;
}

/*
 * preprocessFiles(paths: string[], boxes: Float64Array(4n, NaN = centre square),
 *                 size, margin, maxPixels, out: Uint8Array(n*size*size*3), status: Int32Array(n))
 *   -> Promise<void>; status[i] is 0 (pixels written) or 1 (not done: decode it another way).
 * One call runs on one pool thread; callers split a batch to use several.
 */
static napi_value preprocess_files(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t count = 0;
  bool is_array = false;
  if (argc < 7 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "preprocessFiles: expected (paths, boxes, size, margin, maxPixels, out, status)");
    return NULL;
  }
  CHECK(napi_get_array_length(env, argv[0], &count));
  uint32_t size = 0;
  double margin = 0, max_pixels = 0;
  CHECK(napi_get_value_uint32(env, argv[2], &size));
  CHECK(napi_get_value_double(env, argv[3], &margin));
  CHECK(napi_get_value_double(env, argv[4], &max_pixels));
  size_t n_boxes = 0, n_out = 0, n_status = 0;
  double* boxes = (double*)typed_array_data(env, argv[1], napi_float64_array, &n_boxes);
  unsigned char* out = (unsigned char*)typed_array_data(env, argv[5], napi_uint8_array, &n_out);
  int32_t* status = (int32_t*)typed_array_data(env, argv[6], napi_int32_array, &n_status);
  if (size == 0 || size > 4096 || !boxes || !out || !status || n_boxes != (size_t)count * 4 ||
      n_out != (size_t)count * size * size * 3 || n_status != count) {
    napi_throw_range_error(env, NULL, "preprocessFiles: array sizes do not match the number of paths");
    return NULL;
  }
  batch_task* task = (batch_task*)calloc(1, sizeof(batch_task));
  if (!task) {
    napi_throw_error(env, NULL, "preprocessFiles: out of memory");
    return NULL;
  }
  task->paths = (char**)calloc(count ? count : 1, sizeof(char*));
  task->boxes = (const double*)malloc(n_boxes * sizeof(double) + 1);
  if (!task->paths || !task->boxes) {
    napi_throw_error(env, NULL, "preprocessFiles: out of memory");
    return NULL;
  }
  memcpy((void*)task->boxes, boxes, n_boxes * sizeof(double));
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    size_t len = 0;
    CHECK(napi_get_element(env, argv[0], i, &item));
    if (napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok) {
      napi_throw_type_error(env, NULL, "preprocessFiles: paths must be strings");
      return NULL;
    }
    task->paths[i] = (char*)malloc(len + 1);
    CHECK(napi_get_value_string_utf8(env, item, task->paths[i], len + 1, &len));
  }
  task->count = count;
  task->size = size;
  task->margin = margin;
  task->max_pixels = max_pixels;
  task->out = out;
  task->status = status;
  napi_value promise, name;
  CHECK(napi_create_reference(env, argv[5], 1, &task->out_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &task->status_ref));
  CHECK(napi_create_promise(env, &task->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "jpeg-scaled-batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, execute_batch, complete_batch, task, &task->work));
  CHECK(napi_queue_async_work(env, task->work));
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "readHeader", NAPI_AUTO_LENGTH, read_header, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "readHeader", fn);
  if (napi_create_function(env, "decode", NAPI_AUTO_LENGTH, decode, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "decode", fn);
  if (napi_create_function(env, "preprocessFiles", NAPI_AUTO_LENGTH, preprocess_files, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "preprocessFiles", fn);
  return exports;
}
