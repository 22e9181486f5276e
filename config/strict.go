package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// unknownFields decodes doc into v as encoding/json does, and lists the paths (like
// "profiles[0].plugins.bogus") of object keys that match no field of v's type exactly. Matching is
// case-sensitive, as kube-scheduler's strict decoding is; encoding/json alone would accept
// "PercentageOfNodesToScore" for "percentageOfNodesToScore". Values of types that decode
// themselves (json.Unmarshaler) are not looked into: they check their own fields.
func unknownFields(doc []byte, v any) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, err
	}
	var unknown []string
	walkUnknown(generic, reflect.TypeOf(v), "", &unknown)
	return unknown, nil
}

func walkUnknown(val any, t reflect.Type, path string, unknown *[]string) {
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return
		}
		fields := jsonFields(t)
		for key, sub := range obj {
			ft, ok := fields[key]
			if !ok {
				*unknown = append(*unknown, joinPath(path, key))
				continue
			}
			walkUnknown(sub, ft, joinPath(path, key), unknown)
		}
	case reflect.Slice, reflect.Array:
		if items, ok := val.([]any); ok {
			for i, item := range items {
				walkUnknown(item, t.Elem(), path+"["+strconv.Itoa(i)+"]", unknown)
			}
		}
	case reflect.Map:
		if obj, ok := val.(map[string]any); ok {
			for key, sub := range obj {
				walkUnknown(sub, t.Elem(), joinPath(path, key), unknown)
			}
		}
	}
}

// jsonFields maps the JSON names of t's fields (embedded structs' fields promoted) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
