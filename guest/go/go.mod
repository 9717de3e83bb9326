module elastos-guest

go 1.21
