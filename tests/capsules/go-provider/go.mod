module go-provider

go 1.21

require elastos-guest v0.0.0

replace elastos-guest => ../../../guest/go
