//go:build tools

// Package tools pins the Pulumi CLI that scripts/setup-pulumi.sh builds, and the sdk package
// whose Version variable the build stamps with the pin.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	_ "github.com/pulumi/pulumi/sdk/v3/go/common/version"
)
