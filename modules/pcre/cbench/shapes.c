/* shapes.c: PCRE2's own time for the searches of BenchmarkShapes
 * (modules/pcre/bench_test.go), to compare luamilter's binding with.
 * Same subjects, same patterns, no-match searches; JIT and interpreter;
 * one match data made once, as a C program would. Prints the best
 * of five runs in ns per search. Build and run: scripts/pcre-bench.sh. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *text =
	"Dear customer, thank you for your order of the blue widget. "
	"Your parcel leaves our warehouse today and should arrive within three working days. "
	"If anything is missing, reply to this message and our support team will help you. "
	"Kind regards, the Example Shop team.\r\n";

static const char *names[] = {"literal", "caseless-alternation", "word-class", "backtrack"};
static const char *patterns[] = {"unsubscribe", "(?i)viagra|cialis|casino|lottery|winner",
	"\\b[a-z]+[0-9]{2,}\\b", "\\b(\\w+)\\s+\\1\\b"};
static const size_t sizes[] = {4 << 10, 256 << 10, 10 << 20};
static const char *sizeNames[] = {"4KB", "256KB", "10MB"};

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void) {
	size_t tl = strlen(text);
	for (int si = 0; si < 3; si++) {
		size_t n = sizes[si];
		char *subj = malloc(n);
		for (size_t i = 0; i < n; i++)
			subj[i] = text[i % tl];
		for (int pi = 0; pi < 4; pi++) {
			int err;
			PCRE2_SIZE off;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)patterns[pi], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
			if (re == NULL)
				return 1;
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
			for (int jit = 1; jit >= 0; jit--) {
				if (jit && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
					return 2;
				uint32_t opts = jit ? 0 : PCRE2_NO_JIT;
				long iters = (long)(200e6 / n) + 1; /* about 200 MB per run */
				if (!jit)
					iters = iters / 20 + 1;
				double best = 1e30;
				for (int run = 0; run < 5; run++) {
					double t0 = now();
					for (long i = 0; i < iters; i++) {
						int rc = pcre2_match(re, (PCRE2_SPTR)subj, n, 0, opts, md, NULL);
						if (rc != PCRE2_ERROR_NOMATCH)
							return 3;
					}
					double per = (now() - t0) / iters;
					if (per < best)
						best = per;
				}
				printf("%s/%s/%s\t%.0f ns/op\n", names[pi], sizeNames[si], jit ? "jit" : "interp", best);
			}
			pcre2_match_data_free(md);
			pcre2_code_free(re);
		}
		free(subj);
	}
	return 0;
}
