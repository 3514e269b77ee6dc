/* seal-bench - load on a running seal-server (sim backend): requests per
 * second and latency percentiles with C concurrent clients, against the same
 * requests from one client in the same run (the baseline), and the ratios.
 *
 *   seal-bench --connect ADDR --sim-platform-key FILE [--clients 64]
 *              [--seconds 5] [--sim-rtmr FILE]
 *
 * Every request is a whole seal-client exchange (lib/sealc.c): fresh P-256
 * key, sim report, connect, frame, reply check, ECDH, decrypt. bench/seal.sh
 * starts a server and runs this.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cocoon/log.h"
#include "cocoon/sealc.h"
#include "cocoon/util.h"

#define MAX_SAMPLES 200000

struct worker {
	pthread_t th;
	struct tee tee;
	struct sealc_opts opts;
	int64_t until_ms;
	double *lat_ms;
	size_t n, errors;
};

struct result {
	double rps, p50, p99, max;
	size_t n, errors;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t key[SEALC_KEY_LEN];

	while (now_ms() < w->until_ms && w->n < MAX_SAMPLES) {
		struct cerr err = CERR_INIT;
		double t0 = now_s();

		if (sealc_get_key(&w->opts, key, NULL, &err) < 0) {
			if (!w->errors)
				log_cerr(&err);
			w->errors++;
			continue;
		}
		w->lat_ms[w->n++] = (now_s() - t0) * 1000.0;
	}
	secure_wipe(key, sizeof(key));
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run(const struct tee *tee, const char *addr, int clients, int seconds,
               struct result *res)
{
	struct worker *w = calloc((size_t)clients, sizeof(*w));
	double *all = NULL, t0, t1;
	size_t total = 0, k = 0;

	if (!w)
		return -ENOMEM;
	t0 = now_s();
	for (int i = 0; i < clients; i++) {
		w[i].tee = *tee;
		w[i].opts = (struct sealc_opts){
		    .connect = addr, .key_name = "bench", .tee = &w[i].tee, .timeout_ms = 30000};
		w[i].until_ms = now_ms() + seconds * 1000;
		w[i].lat_ms = malloc(MAX_SAMPLES * sizeof(double));
		if (!w[i].lat_ms || pthread_create(&w[i].th, NULL, run_worker, &w[i]) != 0) {
			fprintf(stderr, "seal-bench: cannot start client %d\n", i);
			exit(3);
		}
	}
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		res->errors += w[i].errors;
	}
	t1 = now_s();
	all = malloc((total ? total : 1) * sizeof(double));
	if (!all)
		return -ENOMEM;
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, w[i].lat_ms, w[i].n * sizeof(double));
		k += w[i].n;
		free(w[i].lat_ms);
		tee_done(&w[i].tee);
	}
	qsort(all, total, sizeof(double), cmp_double);
	res->n = total;
	res->rps = (double)total / (t1 - t0);
	if (total) {
		res->p50 = all[total / 2];
		res->p99 = all[(size_t)((double)(total - 1) * 0.99)];
		res->max = all[total - 1];
	}
	free(all);
	free(w);
	return 0;
}

static void print(const char *name, const struct result *r)
{
	printf("%-22s %8zu req %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  errors "
	       "%zu\n",
	       name, r->n, r->rps, r->p50, r->p99, r->max, r->errors);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"sim-platform-key", required_argument, NULL, 'k'},
	    {"sim-rtmr", required_argument, NULL, 'r'},
	    {"clients", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *addr = NULL, *pk = NULL;
	struct cerr err = CERR_INIT;
	struct result base, load;
	int clients = 64, seconds = 5, c;
	char name[32];
	struct tee tee;

	log_init(argv[0]);
	tee_init(&tee, TEE_SIM);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			addr = optarg;
			break;
		case 'k':
			pk = optarg;
			break;
		case 'r':
			snprintf(tee.sim_rtmr_path, sizeof(tee.sim_rtmr_path), "%s", optarg);
			break;
		case 'n':
			clients = atoi(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		case 'h':
			printf("Usage: seal-bench --connect ADDR --sim-platform-key FILE "
			       "[--clients N] [--seconds S] [--sim-rtmr FILE]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!addr || !pk || clients < 1 || clients > 4096 || seconds < 1) {
		fprintf(stderr, "seal-bench: give --connect and --sim-platform-key (see --help)\n");
		return 2;
	}
	if (tee_sim_load_key(&tee, pk, &err) < 0) {
		log_cerr(&err);
		return 3;
	}
	log_set_level(LOG_LVL_ERROR);
	if (run(&tee, addr, 1, seconds, &base) < 0 || run(&tee, addr, clients, seconds, &load) < 0)
		return 3;
	print("baseline: 1 client", &base);
	snprintf(name, sizeof(name), "%d clients", clients);
	print(name, &load);
	if (base.rps > 0 && base.p99 > 0)
		printf("ratio %d clients / 1 client: throughput x%.2f, p99 latency x%.2f\n",
		       clients, load.rps / base.rps, load.p99 / base.p99);
	tee_done(&tee);
	return base.errors || load.errors ? 1 : 0;
}
