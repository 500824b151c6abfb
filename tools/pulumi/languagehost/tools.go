//go:build tools

// Package tools pins the Python language host that scripts/setup-pulumi.sh builds.
package tools

import (
	_ "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
)
