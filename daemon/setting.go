package daemon

import (
	"fmt"
	"reflect"
	"strings"
)

// Setting returns one setting by its config-file key ("script_timeout",
// "dns.servers") or flag name ("script-timeout"), for msys.config. Lists
// come back comma-separated. Datasource URIs are not exposed: they may
// carry passwords.
func (c Config) Setting(name string) (string, bool) {
	key := strings.ReplaceAll(name, "-", "_")
	return lookupSetting(reflect.ValueOf(c), strings.Split(key, "."))
}

func lookupSetting(v reflect.Value, path []string) (string, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		flag := strings.ReplaceAll(f.Tag.Get("flag"), "-", "_")
		if tag != path[0] && flag != path[0] {
			continue
		}
		fv := v.Field(i)
		switch {
		case tag == "datasources":
			return "", false
		case len(path) > 1 && fv.Kind() == reflect.Struct:
			return lookupSetting(fv, path[1:])
		case len(path) > 1, fv.Kind() == reflect.Struct:
			// A table such as [dns] is not one setting; its keys are
			// ("dns.servers").
			return "", false
		}
		return settingString(fv), true
	}
	// A flag name of a nested setting, e.g. "dns-server".
	if len(path) == 1 {
		for i := 0; i < t.NumField(); i++ {
			if v.Field(i).Kind() == reflect.Struct {
				if s, ok := lookupSetting(v.Field(i), path); ok {
					return s, true
				}
			}
		}
	}
	return "", false
}

func settingString(v reflect.Value) string {
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = settingString(v.Index(i))
		}
		return strings.Join(parts, ",")
	}
	if v.Kind() == reflect.Struct { // [[script]] entries
		if p := v.FieldByName("Path"); p.IsValid() {
			return p.String()
		}
	}
	return fmt.Sprint(v.Interface())
}
