package conformance

import "os/exec"

var execLookPath = exec.LookPath
