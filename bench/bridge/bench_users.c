/*
 * bench_users: the cost of the bridge's argon2id passwords (users.h) with
 * the parameters new hashes get (USERS_ARGON2_*): a hash (iod-user add,
 * passwd), a verify of the right and of a wrong password (a login), and
 * the dummy verify an unknown name costs, which should match a wrong
 * password's. Also argon2id at a few other parameter sets for comparison.
 * Prints figures; asserts nothing.
 *
 *   bench_users [rounds]     (default 40)
 */
#include "benchutil.h"
#include "users.h"

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	if (rounds < 1 || rounds > 100000) {
		fprintf(stderr, "usage: bench_users [rounds 1..100000]\n");
		return 2;
	}
	double *hash_us = calloc((size_t)rounds, sizeof(double));
	double *ok_us = calloc((size_t)rounds, sizeof(double));
	double *bad_us = calloc((size_t)rounds, sizeof(double));
	double *unknown_us = calloc((size_t)rounds, sizeof(double));
	struct users *set = users_new();
	char enc[USERS_ENCODED_MAX], machine[128];
	if (!hash_us || !ok_us || !bad_us || !unknown_us || !set)
		return 1;

	bench_machine(machine, sizeof(machine));
	printf("bench_users: %s, argon2id m=%d KiB t=%d p=%d, %d rounds\n", machine,
	       USERS_ARGON2_M_KIB, USERS_ARGON2_T, USERS_ARGON2_P, rounds);
	for (int i = 0; i < rounds; i++) {
		double t0 = bench_now_us();
		if (users_hash("correct horse", 13, enc)) {
			fprintf(stderr, "bench_users: users_hash failed\n");
			return 1;
		}
		hash_us[i] = bench_now_us() - t0;
	}
	if (users_add(set, "ann", ROLES_CARER, "*", enc))
		return 1;
	for (int i = 0; i < rounds; i++) {
		double t0 = bench_now_us();
		int a = users_verify(set, "ann", "correct horse", 13, NULL);
		double t1 = bench_now_us();
		int b = users_verify(set, "ann", "wrong horse", 11, NULL);
		double t2 = bench_now_us();
		int c = users_verify(set, "nobody", "correct horse", 13, NULL);
		double t3 = bench_now_us();
		if (a != 0 || b == 0 || c == 0) {
			fprintf(stderr, "bench_users: verify answered %d %d %d\n", a, b, c);
			return 1;
		}
		ok_us[i] = t1 - t0;
		bad_us[i] = t2 - t1;
		unknown_us[i] = t3 - t2;
	}
	bench_print_ms("hash (iod-user add/passwd)", 34, hash_us, (size_t)rounds);
	bench_print_ms("verify, right password", 34, ok_us, (size_t)rounds);
	bench_print_ms("verify, wrong password", 34, bad_us, (size_t)rounds);
	bench_print_ms("verify, unknown name (dummy)", 34, unknown_us, (size_t)rounds);

	/* Other parameter sets, a few hashes each, for the choice. */
	static const struct {
		unsigned m, t, p;
	} other[] = {{19456, 2, 1}, {47104, 1, 1}, {65536, 3, 1}, {65536, 3, 4}};
	static const unsigned char salt[16] = "bench_users_salt";
	int few = rounds < 10 ? rounds : 10;
	for (size_t k = 0; k < sizeof(other) / sizeof(other[0]); k++) {
		double us[10];
		char what[64];
		for (int i = 0; i < few; i++) {
			double t0 = bench_now_us();
			if (argon2id_hash_encoded(other[k].t, other[k].m, other[k].p, "pw", 2, salt,
						  sizeof(salt), 32, enc, sizeof(enc)) != ARGON2_OK)
				return 1;
			us[i] = bench_now_us() - t0;
		}
		snprintf(what, sizeof(what), "argon2id m=%u t=%u p=%u", other[k].m, other[k].t,
			 other[k].p);
		bench_print_ms(what, 34, us, (size_t)few);
	}
	users_free(set);
	free(hash_us);
	free(ok_us);
	free(bad_us);
	free(unknown_us);
	return 0;
}
