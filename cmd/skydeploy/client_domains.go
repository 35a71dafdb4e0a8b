package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/skydeploy/skydeploy/internal/api"
)

const domainsUsage = `domains <command>
  domains ls <project> [--json]
  domains add <project> <domain> [--json]    prints the DNS records to create
  domains verify <project> <domain> [--wait 2m]
                                             check DNS now (a failed domain starts again);
                                             --wait follows it until verified or failed
  domains rm <project> <domain>              stop serving it (within the alias TTL)`

// runDomains manages the custom domains of projects.
func runDomains(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("usage: skydeploy " + domainsUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "ls", "list":
		return domainsList(ctx, rest)
	case "add":
		return domainsAdd(ctx, rest)
	case "verify":
		return domainsVerify(ctx, rest)
	case "rm", "remove":
		const usage = "domains rm <project> <domain>"
		pos, c, err := clientArgs(flagSet("domains rm", usage), rest, 2, usage)
		if err != nil {
			return err
		}
		if err := c.RemoveDomain(ctx, pos[0], pos[1]); err != nil {
			return cliError(c, err)
		}
		fmt.Printf("Removed %s from %s: it stops being served within a few seconds\n", pos[1], pos[0])
		return nil
	case "help", "-h", "--help":
		fmt.Println("usage: skydeploy " + domainsUsage)
		return nil
	}
	return usageError(fmt.Sprintf("unknown domains command %q\nusage: skydeploy %s", sub, domainsUsage))
}

func domainsList(ctx context.Context, args []string) error {
	const usage = "domains ls <project> [--json]"
	fs := flagSet("domains ls", usage)
	asJSON := fs.Bool("json", false, "print the domains as JSON")
	pos, c, err := clientArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	list, err := c.ListDomains(ctx, pos[0])
	if err != nil {
		return cliError(c, err)
	}
	if *asJSON {
		return printJSON(list)
	}
	if len(list) == 0 {
		fmt.Printf("No custom domains. Add one with: skydeploy domains add %s www.example.com\n", pos[0])
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSTATUS\tDETAIL")
	for _, d := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Domain, d.Status, domainDetail(d))
	}
	tw.Flush()
	return nil
}

// domainDetail is one line about a domain's state.
func domainDetail(d api.Domain) string {
	switch d.Status {
	case api.DomainVerified:
		return "serving " + d.URL
	case api.DomainFailed:
		return d.Reason
	}
	s := "waiting for the TXT record until " + d.Deadline.Local().Format(time.RFC3339)
	if d.Reason != "" {
		s += " (last check: " + d.Reason + ")"
	}
	return s
}

func domainsAdd(ctx context.Context, args []string) error {
	const usage = "domains add <project> <domain> [--json]"
	fs := flagSet("domains add", usage)
	asJSON := fs.Bool("json", false, "print the domain as JSON")
	pos, c, err := clientArgs(fs, args, 2, usage)
	if err != nil {
		return err
	}
	d, err := c.AddDomain(ctx, pos[0], pos[1])
	if err != nil {
		return cliError(c, err)
	}
	if *asJSON {
		return printJSON(d)
	}
	fmt.Printf("Added %s to %s: pending verification.\n\n", d.Domain, d.Project)
	printRecords(d)
	fmt.Printf("\nDNS is checked again and again until %s; to check now: skydeploy domains verify %s %s\n",
		d.Deadline.Local().Format(time.RFC3339), d.Project, d.Domain)
	return nil
}

// printRecords prints the DNS records a domain needs.
func printRecords(d api.Domain) {
	fmt.Println("Create these DNS records at your DNS provider:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tNAME\tVALUE\tFOR")
	for _, r := range d.Records {
		why := "proving you own the domain"
		if r.Purpose == "route" {
			why = "sending its visitors here"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Type, r.Name, r.Value, why)
	}
	tw.Flush()
}

func domainsVerify(ctx context.Context, args []string) error {
	const usage = "domains verify <project> <domain> [--wait 2m]"
	fs := flagSet("domains verify", usage)
	wait := fs.Duration("wait", 0, "follow the domain until it is verified or failed, for at most this long")
	pos, c, err := clientArgs(fs, args, 2, usage)
	if err != nil {
		return err
	}
	d, err := c.VerifyDomain(ctx, pos[0], pos[1])
	if err != nil {
		return cliError(c, err)
	}
	deadline := time.Now().Add(*wait)
	for d.Status == api.DomainPending && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return exitError{code: 130}
		case <-time.After(time.Second):
		}
		if d, err = c.GetDomain(ctx, pos[0], pos[1]); err != nil {
			return cliError(c, err)
		}
	}
	switch d.Status {
	case api.DomainVerified:
		fmt.Printf("%s is verified: %s serves %s\n", d.Domain, d.URL, d.Project)
		return nil
	case api.DomainFailed:
		fmt.Printf("%s failed verification: %s\n", d.Domain, d.Reason)
		return exitError{code: 1}
	}
	fmt.Printf("%s is pending: %s\n\n", d.Domain, domainDetail(d))
	printRecords(d)
	if *wait > 0 {
		return exitError{code: 1}
	}
	return nil
}
