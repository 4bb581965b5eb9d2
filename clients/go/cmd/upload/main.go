// Command upload streams one file to a mediagate gateway and shows the server's progress events.
//
// It is the smallest complete Go caller of MediaUploadService.UploadWithProgress: the first
// request carries the UploadSpec, the next ones carry 512 KiB chunks read from disk (the file is
// never held whole), and every progress event is printed until the final UploadResult arrives.
//
//	go run ./cmd/upload -target 127.0.0.1:50051 -category tweet_image photo.jpg
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	mediagatev1 "github.com/mediagate/mediagate/clients/go/mediagatev1"
)

const chunkSize = 512 * 1024

func main() {
	target := flag.String("target", envOr("MEDIAGATE_TARGET", "127.0.0.1:50051"), "gateway address")
	account := flag.String("account", "demo", "account name configured on the gateway")
	category := flag.String("category", "tweet_image", "media category, e.g. tweet_image, amplify_video")
	timeout := flag.Duration("timeout", 10*time.Minute, "deadline for the whole upload")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: upload [flags] FILE\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*target, *account, *category, flag.Arg(0), *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "upload: %v\n", err)
		switch code := status.Code(err); {
		case errors.Is(err, errUsage), code == codes.InvalidArgument, code == codes.NotFound:
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var (
	errUsage  = errors.New("bad usage")
	errFailed = errors.New("the upload failed")
)

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// parseCategory maps "tweet_image" to MEDIA_CATEGORY_TWEET_IMAGE.
func parseCategory(name string) (mediagatev1.MediaCategory, error) {
	v, ok := mediagatev1.MediaCategory_value["MEDIA_CATEGORY_"+strings.ToUpper(name)]
	if !ok || v == 0 || strings.ToLower(name) != name {
		return 0, fmt.Errorf("%w: unknown category %q", errUsage, name)
	}
	return mediagatev1.MediaCategory(v), nil
}

func run(target, account, categoryName, path string, timeout time.Duration) error {
	category, err := parseCategory(categoryName)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}

	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	stream, err := mediagatev1.NewMediaUploadServiceClient(conn).UploadWithProgress(ctx)
	if err != nil {
		return err
	}
	spec := &mediagatev1.UploadSpec{
		MediaCategory: category,
		TotalBytes:    info.Size(),
		Account:       &mediagatev1.Account{Credentials: &mediagatev1.Account_Name{Name: account}},
	}
	// Send in the background: the server answers with progress while the bytes still flow.
	sendErr := make(chan error, 1)
	go func() { sendErr <- send(stream, spec, f) }()

	for {
		ev, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("stream ended without a result")
			}
			return err
		}
		if p := ev.GetProgress(); p != nil {
			fmt.Fprintf(os.Stderr, "%-28s sent %d/%d  acknowledged %d  segments %d/%d",
				p.GetPhase(), p.GetBytesReceived(), p.GetTotalBytes(), p.GetBytesAcknowledged(),
				p.GetSegmentsDone(), p.GetSegmentsTotal())
			if p.GetProcessingState() != mediagatev1.ProcessingState_PROCESSING_STATE_UNSPECIFIED {
				fmt.Fprintf(os.Stderr, "  %s %d%%", p.GetProcessingState(), p.GetProcessingPercent())
			}
			fmt.Fprintln(os.Stderr)
			continue
		}
		r := ev.GetResult()
		if e := <-sendErr; e != nil && !errors.Is(e, io.EOF) {
			return e
		}
		fmt.Printf("success=%v media_id=%s media_type=%s", r.GetSuccess(), r.GetMediaIdString(), r.GetMediaType())
		if pi := r.GetProcessingInfo(); pi != nil {
			fmt.Printf(" processing=%s", pi.GetState())
		}
		if r.GetErrorMsg() != "" {
			fmt.Printf(" error=%q", r.GetErrorMsg())
		}
		fmt.Println()
		if !r.GetSuccess() {
			return errFailed
		}
		return nil
	}
}

// send writes the spec, then the file in chunks, then closes the sending side.
func send(stream mediagatev1.MediaUploadService_UploadWithProgressClient, spec *mediagatev1.UploadSpec, r io.Reader) error {
	if err := stream.Send(&mediagatev1.UploadWithProgressRequest{
		Payload: &mediagatev1.UploadWithProgressRequest_Spec{Spec: spec},
	}); err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if sendErr := stream.Send(&mediagatev1.UploadWithProgressRequest{
				Payload: &mediagatev1.UploadWithProgressRequest_Chunk{Chunk: chunk},
			}); sendErr != nil {
				return sendErr // the server ended the call; Recv reports why
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return stream.CloseSend()
		}
		if err != nil {
			return err
		}
	}
}
