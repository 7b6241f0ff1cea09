/* stb_image's implementation, compiled once for the whole runtime (Debian's
 * libstb-dev ships the single header; CMakeLists.txt builds this file with
 * warnings off: third-party code). Only the formats image folders read are
 * built: PNG, JPEG and BMP (not PNM: see data_imagefolder.c). stb_image 2.27 keeps its
 * failure reason per thread, so loader workers may decode concurrently. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb/stb_image.h>
