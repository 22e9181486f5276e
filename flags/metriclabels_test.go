package flags

import (
	"reflect"
	"testing"
)

func TestLabelAllowLists(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    map[string]map[string][]string
		wantErr bool
	}{
		{name: "one entry, as the shell passes it", entries: []string{"scheduler_schedule_attempts_total,result=scheduled,error"},
			want: map[string]map[string][]string{"scheduler_schedule_attempts_total": {"result": {"scheduled", "error"}}}},
		{name: "quoted values and two labels", entries: []string{"m,a='x, y'", "m,b=z"},
			want: map[string]map[string][]string{"m": {"a": {"x", "y"}, "b": {"z"}}}},
		{name: "a later entry replaces", entries: []string{"m,a=x", "m,a=y"}, want: map[string]map[string][]string{"m": {"a": {"y"}}}},
		{name: "no label", entries: []string{"m=x"}, wantErr: true},
		{name: "no values", entries: []string{"m,a"}, wantErr: true},
		{name: "two commas in the key", entries: []string{"m,a,b=x"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LabelAllowLists(tc.entries)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
