//===- ChatTemplate.cpp - Chat templates through embedded Jinja2 ----------===//

#include "ChatTemplate.h"

#include "ChatModule.inc" // kChatModuleSource: python-bindings/xformer/chat.py

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <mutex>

namespace xformer::serve {
namespace {

/// The interpreter (started once, its lock released between renders) and
/// chat.py's render_json.
PyObject *renderFunction = nullptr;
std::string startError;

/// The current Python exception as text (cleared).
std::string takeException() {
  PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
  PyErr_Fetch(&type, &value, &trace);
  PyErr_NormalizeException(&type, &value, &trace);
  std::string text = "unknown Python error";
  if (value)
    if (PyObject *s = PyObject_Str(value)) {
      if (const char *u = PyUnicode_AsUTF8(s))
        text = u;
      Py_DECREF(s);
    }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(trace);
  PyErr_Clear();
  return text;
}

void start() {
  PyConfig config;
  // Isolated: no environment variables, no user site; the system's
  // dist-packages (Debian's python3-jinja2) stay on the path.
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    startError = std::string("cannot start the Python interpreter: ") +
                 (status.err_msg ? status.err_msg : "unknown error");
    return;
  }
  PyObject *globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyDict_SetItemString(globals, "__name__",
                       PyUnicode_FromString("xformer_chat"));
  PyObject *ran = PyRun_String(kChatModuleSource, Py_file_input, globals,
                               globals);
  PyObject *jinja = ran ? PyImport_ImportModule("jinja2") : nullptr;
  if (!ran || !jinja) {
    startError = "chat templates need Jinja2 (Debian: python3-jinja2): " +
                 takeException();
  } else {
    renderFunction = PyDict_GetItemString(globals, "render_json");
    Py_XINCREF(renderFunction);
  }
  Py_XDECREF(jinja);
  Py_XDECREF(ran);
  Py_DECREF(globals);
  // Other threads take the lock with PyGILState_Ensure.
  PyEval_SaveThread();
}

bool callRender(const std::string &source, const std::string &request,
                std::string &out, std::string &error) {
  PyGILState_STATE gil = PyGILState_Ensure();
  bool ok = false;
  PyObject *result = PyObject_CallFunction(renderFunction, "s#s#",
                                           source.data(), Py_ssize_t(source.size()),
                                           request.data(), Py_ssize_t(request.size()));
  if (!result) {
    error = takeException();
  } else {
    Py_ssize_t size = 0;
    if (const char *u = PyUnicode_AsUTF8AndSize(result, &size)) {
      out.assign(u, size);
      ok = true;
    } else {
      error = "the chat template did not render text: " + takeException();
    }
    Py_DECREF(result);
  }
  PyGILState_Release(gil);
  return ok;
}

} // namespace

std::unique_ptr<ChatTemplate> ChatTemplate::create(std::string source,
                                                   std::string bos,
                                                   std::string eos,
                                                   std::string &error) {
  static std::once_flag once;
  std::call_once(once, start);
  if (!renderFunction) {
    error = startError;
    return nullptr;
  }
  std::unique_ptr<ChatTemplate> t(new ChatTemplate);
  t->source = std::move(source);
  t->bos = std::move(bos);
  t->eos = std::move(eos);
  // A template that does not parse or render a plain chat fails here, at
  // start-up, not on the first request.
  std::string text;
  if (!t->render(nlohmann::json::array({{{"role", "user"}, {"content", "Hi"}}}),
                 text, error))
    return nullptr;
  return t;
}

bool ChatTemplate::render(const nlohmann::json &messages, std::string &out,
                          std::string &error) const {
  nlohmann::json request = {{"messages", messages},
                            {"add_generation_prompt", true},
                            {"bos_token", bos},
                            {"eos_token", eos}};
  return callRender(source, request.dump(-1, ' ', false,
                                         nlohmann::json::error_handler_t::replace),
                    out, error);
}

} // namespace xformer::serve
