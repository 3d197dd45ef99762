/* true_static.c: /bin/true without the dynamic loader, for
 * bench/fire_lateness.py --command and spawn_baseline's COMMAND: on a
 * machine where exec() of a dynamically linked program is dear (page
 * table updates trap to the hypervisor), the job's own start-up hides what
 * the scheduler costs. Built static by the Makefile (build/bench/true_static). */
int main(void)
{
    return 0;
}
