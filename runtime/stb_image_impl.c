/* stb_image's implementation, compiled once for the whole runtime, from the
 * copy in third_party/stb (Debian 12's 2.27 with the fixes of 2.28 listed
 * in its README; CMakeLists.txt builds this file with warnings off:
 * third-party code). Only the formats image folders read are built: PNG,
 * JPEG and BMP (not PNM: see data_imagefolder.c). stb_image keeps its
 * failure reason per thread, so loader workers may decode concurrently. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb_image.h>
