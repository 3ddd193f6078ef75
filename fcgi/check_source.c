/* check_source.c - `check` reads the model's source and its virtualenv without importing them.
 *
 * Importing predict.py to see whether it loads would run the model's import-time code
 * (downloads, heavy imports) and is what serve does anyway. Instead the project's interpreter
 * compiles the files (syntax and indentation errors with file and line), walks their syntax
 * tree for imports (each top-level module looked up with importlib.util.find_spec, which
 * imports nothing) and for programs started through subprocess or os.system (looked up on
 * PATH), and says where each happens: at import time, in setup(), in predict(). A virtualenv
 * made by another Python than the one the worker embeds is found from its pyvenv.cfg.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_internal.h"
#include "cogyaml.h"

/* Reads the project's Python files without importing them: compiles each (syntax and
 * indentation errors with file and line), lists its imports with whether each top-level
 * module can be found (importlib.util.find_spec: nothing is imported) and where it is
 * imported (module level, setup(), ...), and the programs it starts through subprocess or
 * os.system with whether they are on PATH. JSON on the saved stdout, as py_probe. */
static const char py_source_probe[] =
    "import ast, importlib.util, json, os, shutil, sys\n"
    "out = os.fdopen(os.dup(1), 'w')\n"
    "os.dup2(2, 1)\n"
    "project = sys.argv[1]\n"
    "sys.path[0:0] = [project] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]\n"
    "CALLS = {'run', 'call', 'check_call', 'check_output', 'Popen', 'getoutput', 'getstatusoutput'}\n"
    "OS_CALLS = {'system', 'popen'}\n"
    "def guarded(stack):\n"
    "    for node in stack:\n"
    "        if isinstance(node, ast.Try):\n"
    "            for h in node.handlers:\n"
    "                names = []\n"
    "                t = h.type\n"
    "                if t is None:\n"
    "                    return True\n"
    "                for e in (t.elts if isinstance(t, ast.Tuple) else [t]):\n"
    "                    names.append(getattr(e, 'id', getattr(e, 'attr', '')))\n"
    "                if {'ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException'} & set(names):\n"
    "                    return True\n"
    "    return False\n"
    "def program_of(call, shell_call):\n"
    "    if not call.args:\n"
    "        return None\n"
    "    a = call.args[0]\n"
    "    shell = shell_call or any(k.arg == 'shell' and isinstance(k.value, ast.Constant) and k.value.value for k in call.keywords)\n"
    "    if isinstance(a, (ast.List, ast.Tuple)) and a.elts and isinstance(a.elts[0], ast.Constant) and isinstance(a.elts[0].value, str):\n"
    "        return a.elts[0].value\n"
    "    if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.strip():\n"
    "        return a.value.split()[0] if shell or ' ' in a.value.strip() else a.value.strip()\n"
    "    return None\n"
    "def scan(path, rel):\n"
    "    r = {'file': rel, 'syntax': None, 'imports': [], 'programs': []}\n"
    "    try:\n"
    "        with open(path, 'rb') as f:\n"
    "            src = f.read()\n"
    "        tree = compile(src, path, 'exec', ast.PyCF_ONLY_AST, dont_inherit=True)\n"
    "        compile(tree, path, 'exec', dont_inherit=True)\n"
    "    except SyntaxError as e:\n"
    "        r['syntax'] = {'type': type(e).__name__, 'msg': e.msg, 'line': e.lineno or 0, 'col': e.offset or 0, 'text': (e.text or '').rstrip('\\n')}\n"
    "        return r\n"
    "    except (OSError, ValueError) as e:\n"
    "        r['syntax'] = {'type': type(e).__name__, 'msg': str(e), 'line': 0, 'col': 0, 'text': ''}\n"
    "        return r\n"
    "    sub_names = set()\n"
    "    for node in ast.walk(tree):\n"
    "        if isinstance(node, ast.ImportFrom) and node.module == 'subprocess':\n"
    "            sub_names |= {a.asname or a.name for a in node.names if a.name in CALLS}\n"
    "    def visit(node, stack, func):\n"
    "        for child in ast.iter_child_nodes(node):\n"
    "            f = func\n"
    "            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):\n"
    "                f = getattr(child, 'name', '<lambda>') if func is None else func\n"
    "            if isinstance(child, (ast.Import, ast.ImportFrom)):\n"
    "                mods = []\n"
    "                if isinstance(child, ast.Import):\n"
    "                    mods = [a.name for a in child.names]\n"
    "                elif child.level == 0 and child.module:\n"
    "                    mods = [child.module]\n"
    "                for m in mods:\n"
    "                    top = m.split('.')[0]\n"
    "                    if top == 'cog' or top == '__future__':\n"
    "                        continue\n"
    "                    try:\n"
    "                        found = importlib.util.find_spec(top) is not None\n"
    "                    except BaseException:\n"
    "                        found = False\n"
    "                    r['imports'].append({'module': top, 'line': child.lineno, 'where': func or '<module>', 'guarded': guarded(stack + [node]), 'found': found})\n"
    "            if isinstance(child, ast.Call):\n"
    "                fn = child.func\n"
    "                prog = None\n"
    "                if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name):\n"
    "                    if fn.value.id == 'subprocess' and fn.attr in CALLS:\n"
    "                        prog = program_of(child, fn.attr in ('getoutput', 'getstatusoutput'))\n"
    "                    elif fn.value.id == 'os' and fn.attr in OS_CALLS:\n"
    "                        prog = program_of(child, True)\n"
    "                elif isinstance(fn, ast.Name) and fn.id in sub_names:\n"
    "                    prog = program_of(child, False)\n"
    "                if prog:\n"
    "                    where = shutil.which(prog) if '/' not in prog else (prog if os.access(prog, os.X_OK) else None)\n"
    "                    r['programs'].append({'name': prog, 'line': child.lineno, 'where': func or '<module>', 'guarded': guarded(stack + [node]), 'path': where})\n"
    "            visit(child, stack + [node], f if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else func)\n"
    "    visit(tree, [], None)\n"
    "    return r\n"
    "res = []\n"
    "for rel in sys.argv[2:]:\n"
    "    res.append(scan(os.path.join(project, rel), rel))\n"
    "out.write(json.dumps(res))\n"
    "out.flush()\n";


/* The file of a "file.py:Class" reference, in buf ("" when it names none). */
static void ref_file(const char *ref, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ref ? ref : "");
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    else
        buf[0] = '\0';
}

/* What a missing module or program means, by where the code uses it. */
static const char *consequence(const char *where)
{
    if (strcmp(where, "<module>") == 0)
        return "loading the model (its import) will fail, so setup() never runs";
    if (strcmp(where, "setup") == 0)
        return "setup() will fail";
    if (strcmp(where, "predict") == 0 || strcmp(where, "train") == 0)
        return "predictions will fail when they reach it";
    return "the code that uses it will fail";
}

/* "predict.py:3" for a module-level line, "setup() at predict.py:14" inside a function. */
static void place(const char *file, long line, const char *where, char *buf, size_t len)
{
    if (strcmp(where, "<module>") == 0)
        snprintf(buf, len, "%s:%ld, at import time,", file, line);
    else
        snprintf(buf, len, "%s() at %s:%ld", where, file, line);
}

/* Compiles the predict/train files and checks what they import and run, without importing
 * them (py_source_probe). */
void cf_check_sources(cf_checker *c, const cf_cogyaml *y)
{
    char pf[PATH_MAX], tf[PATH_MAX];
    ref_file(y->predict, pf, sizeof pf);
    ref_file(y->train, tf, sizeof tf);
    char *argv[8];
    size_t a = 0;
    argv[a++] = c->python;
    argv[a++] = "-I";
    argv[a++] = "-c";
    argv[a++] = (char *)py_source_probe;
    argv[a++] = c->project;
    if (pf[0])
        argv[a++] = pf;
    if (tf[0] && strcmp(tf, pf) != 0)
        argv[a++] = tf;
    argv[a] = NULL;
    if (a == 5)
        return;
    char *text = NULL;
    int ws = 0;
    cf_error err;
    cf_error_clear(&err);
    json_t *doc = NULL;
    if (cf_check_run(argv, 0, PY_PROBE_TIMEOUT, &text, &ws, &err) == CF_OK)
        doc = json_loads(text, 0, NULL);
    if (!json_is_array(doc)) {
        cf_check_add(c, "warn", "syntax", NULL, "%s could not read the model's source: %s", c->python,
            err.msg[0] ? err.msg : "no answer");
        goto out;
    }
    size_t i;
    json_t *f;
    json_array_foreach(doc, i, f) {
        const char *file = json_string_value(json_object_get(f, "file"));
        json_t *se = json_object_get(f, "syntax");
        char fix[PATH_MAX + 256], at[PATH_MAX + 64];
        if (json_is_object(se)) {
            long line = (long)json_integer_value(json_object_get(se, "line"));
            const char *src = json_string_value(json_object_get(se, "text"));
            snprintf(fix, sizeof fix, "correct %s line %ld", file, line);
            cf_check_add(c, "error", "syntax", fix, "%s:%ld: %s: %s%s%s%s: the model cannot load", file,
                line, json_string_value(json_object_get(se, "type")),
                json_string_value(json_object_get(se, "msg")), src && *src ? " (`" : "",
                src && *src ? src : "", src && *src ? "`)" : "");
            continue;
        }
        cf_check_add(c, "ok", "syntax", NULL, "%s compiles", file);
        size_t j, missing = 0, total = 0;
        json_t *im;
        json_array_foreach(json_object_get(f, "imports"), j, im) {
            const char *mod = json_string_value(json_object_get(im, "module"));
            const char *where = json_string_value(json_object_get(im, "where"));
            long line = (long)json_integer_value(json_object_get(im, "line"));
            total++;
            if (json_is_true(json_object_get(im, "found")))
                continue;
            missing++;
            place(file, line, where, at, sizeof at);
            if (c->venv)
                snprintf(fix, sizeof fix, "%s -m pip install %s (the distribution's name may "
                         "differ), or list it in cog.yaml's python_packages", c->python, mod);
            else
                snprintf(fix, sizeof fix, "apt-get install python3-%s, or a virtualenv "
                         "(PROJECT/.venv) with pip install %s", mod, mod);
            if (json_is_true(json_object_get(im, "guarded")))
                cf_check_add(c, "warn", "import", NULL, "%s imports %s inside try/except: not installed "
                    "for %s, the model goes on without it", at, mod, c->python);
            else
                cf_check_add(c, strcmp(where, "<module>") == 0 || strcmp(where, "setup") == 0 ? "error"
                                                                                    : "warn",
                    "import", fix, "%s imports %s, which is not installed for %s: %s "
                    "(ModuleNotFoundError)", at, mod, c->python, consequence(where));
        }
        if (missing == 0 && total == 0)
            cf_check_add(c, "ok", "import", NULL, "%s imports nothing but cog", file);
        else if (missing == 0)
            cf_check_add(c, "ok", "import", NULL, "the %zu module%s %s imports %s installed", total,
                total == 1 ? "" : "s", file, total == 1 ? "is" : "are");
        json_t *pr;
        json_array_foreach(json_object_get(f, "programs"), j, pr) {
            const char *name = json_string_value(json_object_get(pr, "name"));
            const char *where = json_string_value(json_object_get(pr, "where"));
            const char *path = json_string_value(json_object_get(pr, "path"));
            long line = (long)json_integer_value(json_object_get(pr, "line"));
            char cname[300];
            snprintf(cname, sizeof cname, "program %s", name);
            if (path) {
                cf_check_add(c, "ok", cname, NULL, "%s (run by %s:%ld)", path, file, line);
                continue;
            }
            place(file, line, where, at, sizeof at);
            snprintf(fix, sizeof fix, "install the package that provides %s (apt-file search "
                     "bin/%s; add it to cog.yaml's system_packages), or put it on the PATH "
                     "cog-fcgi runs with", name, name);
            int setup_needs = strcmp(where, "<module>") == 0 || strcmp(where, "setup") == 0;
            cf_check_add(c, setup_needs && !json_is_true(json_object_get(pr, "guarded")) ? "error" : "warn",
                cname, fix, "%s runs %s, which is not on PATH here: %s%s%s (FileNotFoundError)",
                at, name, consequence(where), setup_needs ? "; setup will lack " : "",
                setup_needs ? name : "");
        }
    }
out:
    json_decref(doc);
    free(text);
}

/* A virtualenv made by another Python than the one the worker embeds (a pyenv or conda
 * venv) passes the version check, then runs under Debian's Python: say so. Reads
 * VENV/pyvenv.cfg's home and version. */
void cf_check_venv_origin(cf_checker *c)
{
    char cfg[PATH_MAX + 64], venv[PATH_MAX + 32];
    snprintf(venv, sizeof venv, "%s", c->python);
    char *bin = strstr(venv, "/bin/python");
    if (!c->venv || bin == NULL)
        return;
    *bin = '\0';
    snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", venv);
    FILE *f = fopen(cfg, "r");
    if (f == NULL)
        return; /* not made by python -m venv: the version check is all we can do */
    char line[PATH_MAX + 64], home[PATH_MAX] = "", version[64] = "";
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        char *v = eq + 1;
        while (*v == ' ')
            v++;
        v[strcspn(v, "\r\n")] = '\0';
        if (strncmp(line, "home", 4) == 0 && (line[4] == ' ' || line[4] == '='))
            snprintf(home, sizeof home, "%s", v);
        else if (strncmp(line, "version", 7) == 0 && (line[7] == ' ' || line[7] == '='))
            snprintf(version, sizeof version, "%s", v);
    }
    fclose(f);
    char embedded[PATH_MAX];
    const char *env = getenv("COG_FCGI_PYTHON");
    snprintf(embedded, sizeof embedded, "%s", env && *env ? env : "/usr/bin/python3");
    char *slash = strrchr(embedded, '/');
    if (slash)
        *slash = '\0';
    if (home[0] == '\0' || strcmp(home, embedded) == 0 || strcmp(home, "/bin") == 0) {
        cf_check_add(c, "ok", "venv", NULL, "%s was made by %s's Python, the one the worker embeds",
            venv, home[0] ? home : embedded);
        return;
    }
    char fix[PATH_MAX * 3];
    snprintf(fix, sizeof fix, "make it again with Debian's Python: rm -rf %s && /usr/bin/python3 "
             "-m venv --system-site-packages %s", venv, venv);
    cf_check_add(c, "warn", "venv", fix, "%s was made by the Python in %s%s%s, but the worker embeds "
        "Debian's Python %s (%s/python3): the model runs on that one with this venv's "
        "packages; compiled packages built for the other Python may not load", venv, home,
        version[0] ? ", version " : "", version, CF_PYTHON_VERSION, embedded);
}
