package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck exits 0 when the URL answers with a 2xx status: container images need no curl.
func runHealthcheck(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: skydeploy healthcheck <url>")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", args[0], res.Status)
	}
	return nil
}
