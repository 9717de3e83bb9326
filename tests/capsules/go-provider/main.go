// go-provider - a provider capsule for elastos://kv/ written with the Go guest SDK (guest/go),
// for tests/cli/test_provider_sdk.sh: it serves calls one after another until the runtime has
// no more for it. get answers {"value": "go <n> <caller> <key>"} (n: how many calls this
// instance has served, so a test sees one instance serve many); any other op is failed with
// not_found "go-provider: no op OP". Nothing here knows the consumer's token: the SDK's
// ProviderRequest has none.
package main

import (
	"errors"
	"fmt"
	"os"

	elastos "elastos-guest"
)

func main() {
	c, err := elastos.Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-provider:", err)
		os.Exit(2)
	}
	served := 0
	for {
		call, err := c.GetProviderCall()
		var re *elastos.RuntimeError
		if errors.As(err, &re) && re.Code == "not_found" && served > 0 {
			return // no more calls
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-provider: get_provider_call:", err)
			os.Exit(1)
		}
		served++
		if call.Op != "get" {
			err = c.FailProviderCall(call.CallID, "not_found", "go-provider: no op "+call.Op)
		} else {
			key, _ := call.Body.Get("key")
			v := fmt.Sprintf("go %d %s %s", served, call.Caller, key.Str)
			err = c.AnswerProviderCall(call.CallID, elastos.ObjectValue(elastos.Member{Key: "value", Value: elastos.StringValue(v)}))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-provider: answering:", err)
			os.Exit(1)
		}
	}
}
