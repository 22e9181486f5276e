package flags

import (
	"fmt"
	"strings"
)

// LabelAllowLists turns --allow-metric-labels entries, each "metricName,labelName=v1,v2,..."
// (quotes around the values are dropped), into metric name -> label name -> admitted values.
// A later entry for the same metric and label replaces an earlier one.
func LabelAllowLists(entries []string) (map[string]map[string][]string, error) {
	out := map[string]map[string][]string{}
	for _, e := range entries {
		key, values, ok := strings.Cut(e, "=")
		metric, label, ok2 := strings.Cut(strings.TrimSpace(key), ",")
		metric, label = strings.TrimSpace(metric), strings.TrimSpace(label)
		if !ok || !ok2 || metric == "" || label == "" || strings.Contains(label, ",") {
			return nil, fmt.Errorf("--allow-metric-labels: %q must have the form metricName,labelName='v1,v2,...'", e)
		}
		values = strings.Trim(strings.TrimSpace(values), `'"`)
		var list []string
		for _, v := range strings.Split(values, ",") {
			list = append(list, strings.TrimSpace(v))
		}
		if out[metric] == nil {
			out[metric] = map[string][]string{}
		}
		out[metric][label] = list
	}
	return out, nil
}
