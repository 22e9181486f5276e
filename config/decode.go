package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsyaml "sigs.k8s.io/yaml"
)

// Decode parses data, YAML or JSON, as a KubeSchedulerConfiguration of
// kubescheduler.config.k8s.io/v1. It is as strict as kube-scheduler's loader: field names are
// case-sensitive, and unknown or repeated fields, a wrong apiVersion or kind, and values of the
// wrong type are errors, each naming its field path (and its line when known); several problems
// are reported together. Plugin arguments are decoded into their typed form (see Args). Decode
// neither defaults nor validates values: Load does both.
func Decode(data []byte) (*KubeSchedulerConfiguration, error) {
	tree := parseTree(data)
	if errs := tree.duplicates(); len(errs) > 0 {
		return nil, utilerrors.NewAggregate(errs)
	}
	doc, err := sigsyaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %s", oneLine(err))
	}
	if err := checkTypeMeta(doc); err != nil {
		return nil, err
	}
	cfg := &KubeSchedulerConfiguration{}
	errs, err := decodeStrict(doc, cfg, nil, tree)
	if err != nil {
		return nil, err
	}
	le := &cfg.LeaderElection
	errs = append(errs, checkDurations(field.NewPath("leaderElection"), []namedDuration{
		{"leaseDuration", &le.LeaseDuration}, {"renewDeadline", &le.RenewDeadline}, {"retryPeriod", &le.RetryPeriod},
	})...)
	for i := range cfg.Profiles {
		for j := range cfg.Profiles[i].PluginConfig {
			path := field.NewPath("profiles").Index(i).Child("pluginConfig").Index(j).Child("args")
			if err := decodeArgs(&cfg.Profiles[i].PluginConfig[j], path, tree); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, utilerrors.Flatten(utilerrors.NewAggregate(errs))
	}
	return cfg, nil
}

// checkTypeMeta checks that the document is an object of our apiVersion and kind.
func checkTypeMeta(doc []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return fmt.Errorf("the document must be a %s object", Kind)
	}
	if top == nil {
		return fmt.Errorf("the document is empty: it must be a %s of %s", Kind, GroupVersion)
	}
	var errs field.ErrorList
	for _, f := range []struct{ name, want string }{{"apiVersion", GroupVersion}, {"kind", Kind}} {
		raw, ok := top[f.name]
		var got string
		switch {
		case !ok:
			errs = append(errs, field.Required(field.NewPath(f.name), fmt.Sprintf("must be %q", f.want)))
		case json.Unmarshal(raw, &got) != nil || got != f.want:
			errs = append(errs, field.NotSupported(field.NewPath(f.name), jsonText(raw), []string{f.want}))
		}
	}
	return errs.ToAggregate()
}

// decodeArgs decodes the raw arguments of a plugin that has an argument type. Arguments of
// argument-less plugins are kept raw, as upstream keeps them; unknown plugin names are left for
// validation to refuse.
func decodeArgs(pc *PluginConfig, path *field.Path, tree yamlTree) error {
	info, ok := registry[pc.Name]
	if !ok || info.newArgs == nil {
		return nil
	}
	obj := info.newArgs()
	raw := pc.Args.Raw
	pc.Args = Args{Object: obj}
	if isNull(raw) {
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return fmt.Errorf("%s: must be an object holding %sArgs", path, pc.Name)
	}
	var errs field.ErrorList
	if v, ok := top["apiVersion"]; ok && jsonText(v) != GroupVersion {
		errs = append(errs, field.NotSupported(path.Child("apiVersion"), jsonText(v), []string{GroupVersion}))
	}
	if v, ok := top["kind"]; ok && jsonText(v) != pc.Name+"Args" {
		errs = append(errs, field.Invalid(path.Child("kind"), jsonText(v), fmt.Sprintf("the args of plugin %s must be of kind %sArgs", pc.Name, pc.Name)))
	}
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	if strict, err := decodeStrict(raw, obj, path, tree); err != nil || len(strict) > 0 {
		return utilerrors.NewAggregate(append(strict, err))
	}
	if dra, ok := obj.(*DynamicResourcesArgs); ok {
		return utilerrors.NewAggregate(checkDurations(path, []namedDuration{
			{"filterTimeout", dra.FilterTimeout}, {"bindingTimeout", dra.BindingTimeout},
		}))
	}
	return nil
}

// decodeStrict decodes doc into v, found at base in the document (nil for the root). A value of
// the wrong type is an error; unknown and duplicated fields are returned as strict errors, after
// which v holds everything else. Both name their paths.
func decodeStrict(doc []byte, v any, base *field.Path, tree yamlTree) (strictErrs []error, err error) {
	prefix := ""
	if base != nil {
		prefix = base.String()
	}
	unknown, err := unknownFields(doc, v)
	if err != nil {
		return nil, describeDecodeError(err, prefix)
	}
	sort.Strings(unknown)
	var errs []error
	for _, f := range unknown {
		p := joinPath(prefix, f)
		errs = append(errs, errors.New(tree.withLine(p, showPath(p)+": unknown field")))
	}
	return errs, nil
}

// describeDecodeError rewrites a JSON decoding failure as "path: problem".
func describeDecodeError(err error, prefix string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		p := joinPath(prefix, te.Field)
		if p == "" {
			p = "<document>"
		}
		return fmt.Errorf("%s: Invalid value: %s: must be %s", showPath(p), te.Value, describeType(te.Type))
	}
	if prefix == "" {
		return fmt.Errorf("decoding: %w", err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// describeType names what a JSON value must be to decode into t.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return fmt.Sprintf("a %d-bit integer", t.Bits())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("a non-negative %d-bit integer", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// jsonText returns a JSON string's value, or the JSON text of any other value.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// oneLine joins a multi-line message (as YAML errors are) into one line.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}
