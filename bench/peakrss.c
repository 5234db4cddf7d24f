/* peakrss.c - run a command and report its wall time and peak resident memory */
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/*
 * usage: peakrss REPORT command [arg...]
 * Writes "seconds=S rss_kb=K" to REPORT, where K is the largest peak RSS of
 * the command or any process it waited for, and exits with its status.
 */
int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	FILE *fp;
	pid_t pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: peakrss report command [arg...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("peakrss: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("peakrss: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("peakrss: waitpid");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_CHILDREN, &ru);
	fp = fopen(argv[1], "w");
	if (fp == NULL) {
		perror(argv[1]);
		return 1;
	}
	fprintf(fp, "seconds=%.3f rss_kb=%ld\n",
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_maxrss);
	fclose(fp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
