package sandbox

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestContextLayout checks that ctx_amd64.h (used by the assembly) and
// the Go constants agree.
func TestContextLayout(t *testing.T) {
	goVals := map[string]int64{
		"CTX_SELF": ctxSelf, "CTX_BASE": ctxBase, "CTX_STUB": ctxStub, "CTX_ENTRY": ctxEntry,
		"CTX_STATE": ctxState, "CTX_THRSLEEP": ctxThrSleep, "CTX_GOSLEEP": ctxGoSleep,
		"CTX_ACTION": ctxAction, "CTX_TID": ctxTID, "CTX_SETUPSTEP": ctxSetupStep, "CTX_NR": ctxNR,
		"CTX_ARGS": ctxArgs, "CTX_RESULT": ctxResult, "CTX_SIGSTK": ctxSigStk, "CTX_MASK": ctxMask,
		"CTX_PROG": ctxProg, "CTX_INIT": ctxInit, "CTX_SPIN": ctxSpin, "CTX_AVX": ctxAVX,
		"CTX_SIGNO": ctxSigno, "CTX_CODE": ctxCode, "CTX_ADDR": ctxAddr, "CTX_SYSNR": ctxSysNR,
		"CTX_FORGED": ctxForged, "CTX_GREGS": ctxGregs, "CTX_SETUPRC": ctxSetupRC, "CTX_RETSTUB": ctxRetStub,
		"CTX_GO": ctxGo, "CTX_MXCSR": ctxMXCSR, "CTX_GEN": ctxGen, "CTX_KILLGEN": ctxKillGen, "CTX_FS": ctxFS, "CTX_SP": ctxSP,
		"STATE_IDLE": stateIdle, "STATE_REQ": stateReq, "STATE_REPLY": stateReply, "STATE_FAULT": stateFault,
		"STATE_KILLED": stateKilled, "STATE_SETUPFAIL": stateSetupFail, "STATE_PARKED": stateParked,
		"SLOT_SIZE": slotSize, "KILLSIG": int64(StopSignal),
	}
	f, err := os.Open("ctx_amd64.h")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 || fs[0] != "#define" {
			continue
		}
		v, err := strconv.ParseInt(fs[2], 0, 64)
		if err != nil {
			continue // e.g. SLOT_MASK, an immediate
		}
		want, ok := goVals[fs[1]]
		if !ok {
			t.Errorf("%s in ctx_amd64.h has no Go counterpart in the test", fs[1])
			continue
		}
		seen[fs[1]] = true
		if v != want {
			t.Errorf("%s: header %d, Go %d", fs[1], v, want)
		}
	}
	for k := range goVals {
		if !seen[k] {
			t.Errorf("%s missing from ctx_amd64.h", k)
		}
	}
	// initContext rewrites all but [ctxSelf, +8) and [ctxGen, ctxFS).
	if ctxSelf != 0 || ctxKillGen != ctxGen+8 || ctxFS != ctxKillGen+8 || ctxSP+8 != ctxSize {
		t.Errorf("context words initContext relies on moved: gen %d killgen %d fs %d sp %d size %d", ctxGen, ctxKillGen, ctxFS, ctxSP, ctxSize)
	}
	if ctxGregs+23*8 > ctxSetupRC || ctxRetStub+8 > ctxSize || ctxSize > slotCtxSize {
		t.Error("context fields overlap or overflow the page")
	}
}
