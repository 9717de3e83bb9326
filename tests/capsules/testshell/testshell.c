/*
 * testshell - a replacement shell for tests: appends "NAME RESOURCE ACTION" for every decision
 * request to /config/calls (so tests can prove when the shell was, or was not, consulted) and
 * answers with the scope written in /config/answer.
 */
#include <elastos/guest.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    RuntimeClient *c = elastos_client_open();
    ElastosDecisionRequest q;
    if (!c || elastos_get_decision_request(c, &q) != 0)
        return 1;
    FILE *log = fopen("/config/calls", "a");
    if (log) {
        fprintf(log, "%s %s %s\n", q.capsule_name, q.resource, q.action);
        fclose(log);
    }
    char answer[32] = "deny";
    FILE *f = fopen("/config/answer", "r");
    if (f) {
        if (fscanf(f, "%31s", answer) != 1)
            strcpy(answer, "deny");
        fclose(f);
    }
    int rc = (!strcmp(answer, "once") || !strcmp(answer, "run") || !strcmp(answer, "always"))
                 ? elastos_grant_capability(c, q.request_id, answer, NULL)
                 : elastos_deny_capability(c, q.request_id, "testshell says no");
    elastos_decision_request_free(&q);
    elastos_client_close(c);
    return rc ? 1 : 0;
}
