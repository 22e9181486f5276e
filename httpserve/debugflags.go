package httpserve

import (
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"strconv"
)

// debugFlagsIndex serves /debug/flags and everything below it that is not a flag: a small HTML
// page naming the flags that can be changed, as upstream's.
func debugFlagsIndex(flags ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html>\n<head>\n<title>/debug/flags/</title>\n</head>\n<body>\n/debug/flags/<br>\n<br>\nflags:<br>\n<table>\n")
		for _, f := range flags {
			fmt.Fprintf(w, "<tr>%s<br>\n", html.EscapeString(f))
		}
		fmt.Fprint(w, "</table>\n<br>\nfull flags configurable<br>\n</body>\n</html>\n")
	})
}

// verbosityHandler serves PUT /debug/flags/v: the body is the new -v (a decimal number, nothing
// else, not even a newline), answered in upstream's words. Other methods are 406.
func verbosityHandler(set func(int) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			writePlainText(w, http.StatusNotAcceptable, "unsupported http method")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		if err != nil {
			writePlainText(w, http.StatusBadRequest, "error reading request body: "+err.Error())
			return
		}
		val := string(body)
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			writePlainText(w, http.StatusBadRequest, err.Error())
			return
		}
		if n > math.MaxInt32 { // klog's level is an int32
			_, perr := strconv.ParseInt(val, 10, 32)
			writePlainText(w, http.StatusBadRequest, fmt.Sprintf("failed set klog.logging.verbosity %s: %v", val, perr))
			return
		}
		if err := set(int(n)); err != nil {
			writePlainText(w, http.StatusBadRequest, err.Error())
			return
		}
		writePlainText(w, http.StatusOK, "successfully set klog.logging.verbosity to "+val)
	})
}

func writePlainText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, text)
}
