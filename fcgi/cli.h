/* cli.h - the one-shot commands: `predict` and `schema`. */
#ifndef CF_CLI_H
#define CF_CLI_H

/* cog-fcgi predict PROJECT_DIR -i name=value ... [-o OUT]. Exit status. */
int cf_cli_predict(int argc, char **argv);
/* cog-fcgi schema PROJECT_DIR. Exit status. */
int cf_cli_schema(int argc, char **argv);

#endif
