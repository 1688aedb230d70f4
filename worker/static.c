/* The static file module (to be written). */
#include "http.h"
#include "static.h"

void
static_handler(struct request *r)
{
	http_special(r, 404);
}
