package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	mediagatev1 "github.com/mediagate/mediagate/clients/go/mediagatev1"
)

const chunkSize = 256 * 1024

// demo is the account the server configures when it runs with its embedded emulator.
var demo = &mediagatev1.Account{Credentials: &mediagatev1.Account_Name{Name: "demo"}}

func samplePNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func box(kind string, payload []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(out, kind...), payload...)
}

// sampleMP4 builds a structurally valid MP4 of exactly size bytes whose mvhd says durationMS
// (timescale 1000): ftyp, moov/mvhd (faststart, so the server reads the duration), then mdat.
func sampleMP4(t *testing.T, size int, durationMS uint32) []byte {
	t.Helper()
	ftyp := box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	mvhd := make([]byte, 4+16+80) // version/flags, creation, modification, timescale, duration
	binary.BigEndian.PutUint32(mvhd[12:], 1000)
	binary.BigEndian.PutUint32(mvhd[16:], durationMS)
	moov := box("moov", box("mvhd", mvhd))
	head := append(ftyp, moov...)
	mdat := make([]byte, size-len(head)-8)
	if _, err := rand.Read(mdat); err != nil {
		t.Fatal(err)
	}
	return append(head, box("mdat", mdat)...)
}

func spec(category mediagatev1.MediaCategory, data []byte) *mediagatev1.UploadSpec {
	return &mediagatev1.UploadSpec{MediaCategory: category, TotalBytes: int64(len(data)), Account: demo}
}

func chunks(data []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(data); i += chunkSize {
		out = append(out, data[i:min(i+chunkSize, len(data))])
	}
	return out
}

func upload(ctx context.Context, s *mediagatev1.UploadSpec, data []byte) (*mediagatev1.UploadResult, error) {
	stream, err := mediagatev1.NewMediaUploadServiceClient(conn).Upload(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&mediagatev1.UploadRequest{Payload: &mediagatev1.UploadRequest_Spec{Spec: s}}); err != nil {
		return nil, err
	}
	for _, c := range chunks(data) {
		if err := stream.Send(&mediagatev1.UploadRequest{Payload: &mediagatev1.UploadRequest_Chunk{Chunk: c}}); err != nil {
			break // the server ended the call early; CloseAndRecv says why
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetResult(), nil
}

func checkMediaID(t *testing.T, r *mediagatev1.UploadResult) {
	t.Helper()
	if !r.GetSuccess() {
		t.Fatalf("upload failed: %s", r.GetErrorMsg())
	}
	if r.GetMediaId() <= 0 || r.GetMediaIdString() != strconv.FormatInt(r.GetMediaId(), 10) {
		t.Fatalf("media ids disagree: %d vs %q", r.GetMediaId(), r.GetMediaIdString())
	}
}

func TestUploadImage(t *testing.T) {
	data := samplePNG(t)
	r, err := upload(testContext(t), spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_TWEET_IMAGE, data), data)
	if err != nil {
		t.Fatal(err)
	}
	checkMediaID(t, r)
	if r.GetMediaType() != "image/png" || r.GetSize() != int64(len(data)) {
		t.Errorf("media_type %q size %d, want image/png %d", r.GetMediaType(), r.GetSize(), len(data))
	}
	if r.GetProcessingInfo() != nil {
		t.Errorf("an image has no processing, got %v", r.GetProcessingInfo())
	}
}

func TestUploadVideoWithProgress(t *testing.T) {
	data := sampleMP4(t, 5*1024*1024+123, 4200) // 21 chunks, 3 segments of 2 MiB
	ctx := testContext(t)
	stream, err := mediagatev1.NewMediaUploadServiceClient(conn).UploadWithProgress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		s := spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_AMPLIFY_VIDEO, data)
		err := stream.Send(&mediagatev1.UploadWithProgressRequest{Payload: &mediagatev1.UploadWithProgressRequest_Spec{Spec: s}})
		for _, c := range chunks(data) {
			if err != nil {
				break
			}
			err = stream.Send(&mediagatev1.UploadWithProgressRequest{Payload: &mediagatev1.UploadWithProgressRequest_Chunk{Chunk: c}})
		}
		if err == nil {
			err = stream.CloseSend()
		}
		sent <- err
	}()

	var events []*mediagatev1.UploadProgress
	var result *mediagatev1.UploadResult
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p := ev.GetProgress(); p != nil {
			if result != nil {
				t.Fatal("progress after the result")
			}
			events = append(events, p)
		} else {
			result = ev.GetResult()
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if result == nil {
		t.Fatal("no result")
	}
	checkMediaID(t, result)
	if got := result.GetProcessingInfo().GetState(); got != mediagatev1.ProcessingState_PROCESSING_STATE_SUCCEEDED {
		t.Errorf("processing state %v, want SUCCEEDED", got)
	}
	if result.GetMediaType() != "video/mp4" {
		t.Errorf("media_type %q", result.GetMediaType())
	}

	seen := map[mediagatev1.UploadPhase]bool{}
	var lastPhase mediagatev1.UploadPhase
	var lastReceived int64
	for _, p := range events {
		if p.GetPhase() < lastPhase {
			t.Errorf("phase went back from %v to %v", lastPhase, p.GetPhase())
		}
		if p.GetBytesReceived() < lastReceived || p.GetBytesAcknowledged() > p.GetBytesReceived() {
			t.Errorf("byte counts out of order: %v", p)
		}
		if p.GetTotalBytes() != int64(len(data)) {
			t.Errorf("total_bytes %d, want %d", p.GetTotalBytes(), len(data))
		}
		lastPhase, lastReceived = p.GetPhase(), p.GetBytesReceived()
		seen[p.GetPhase()] = true
	}
	for _, want := range []mediagatev1.UploadPhase{
		mediagatev1.UploadPhase_UPLOAD_PHASE_UPLOADING,
		mediagatev1.UploadPhase_UPLOAD_PHASE_PROCESSING,
		mediagatev1.UploadPhase_UPLOAD_PHASE_DONE,
	} {
		if !seen[want] {
			t.Errorf("no %v event among %d events", want, len(events))
		}
	}
	last := events[len(events)-1]
	if last.GetBytesAcknowledged() != int64(len(data)) || last.GetSegmentsDone() != last.GetSegmentsTotal() || last.GetSegmentsTotal() < 2 {
		t.Errorf("last event %v: want every byte and segment acknowledged, in several segments", last)
	}
	if last.GetMediaIdString() != result.GetMediaIdString() {
		t.Errorf("progress media id %q, result %q", last.GetMediaIdString(), result.GetMediaIdString())
	}

	// X's STATUS agrees once processing is done.
	st, err := mediagatev1.NewMediaUploadServiceClient(conn).GetUploadStatus(ctx,
		&mediagatev1.GetUploadStatusRequest{MediaId: result.GetMediaIdString(), Account: demo})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetMediaIdString() != result.GetMediaIdString() ||
		st.GetProcessingInfo().GetState() != mediagatev1.ProcessingState_PROCESSING_STATE_SUCCEEDED {
		t.Errorf("GetUploadStatus = %v", st)
	}
}

func TestUploadImageMultipleTimes(t *testing.T) {
	data := samplePNG(t)
	stream, err := mediagatev1.NewMediaUploadServiceClient(conn).UploadImageMultipleTimes(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	batch := &mediagatev1.BatchUploadSpec{Upload: spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_DM_IMAGE, data), Count: 3}
	if err := stream.Send(&mediagatev1.UploadImageMultipleTimesRequest{Payload: &mediagatev1.UploadImageMultipleTimesRequest_Spec{Spec: batch}}); err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&mediagatev1.UploadImageMultipleTimesRequest{Payload: &mediagatev1.UploadImageMultipleTimesRequest_Chunk{Chunk: data}}); err != nil {
		t.Fatal(err)
	}
	out, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSuccessCount() != 3 || out.GetFailureCount() != 0 || len(out.GetResults()) != 3 {
		t.Fatalf("success %d failure %d results %d", out.GetSuccessCount(), out.GetFailureCount(), len(out.GetResults()))
	}
	ids, hashes := map[string]bool{}, map[string]bool{}
	for i, r := range out.GetResults() {
		checkMediaID(t, r)
		if out.GetMediaIds()[i] != r.GetMediaIdString() {
			t.Errorf("media_ids[%d] %q, result %q", i, out.GetMediaIds()[i], r.GetMediaIdString())
		}
		ids[r.GetMediaIdString()], hashes[r.GetSha256()] = true, true
	}
	if len(ids) != 3 || len(hashes) != 3 {
		t.Errorf("copies are not distinct: %d ids, %d hashes", len(ids), len(hashes))
	}
}

func TestSetMediaMetadata(t *testing.T) {
	ctx := testContext(t)
	data := samplePNG(t)
	r, err := upload(ctx, spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_TWEET_IMAGE, data), data)
	if err != nil {
		t.Fatal(err)
	}
	checkMediaID(t, r)
	client := mediagatev1.NewMediaUploadServiceClient(conn)
	allow := false
	resp, err := client.SetMediaMetadata(ctx, &mediagatev1.SetMediaMetadataRequest{
		MediaId: r.GetMediaIdString(),
		Account: demo,
		Metadata: &mediagatev1.MediaMetadata{
			SensitiveWarnings:       []mediagatev1.SensitiveWarning{mediagatev1.SensitiveWarning_SENSITIVE_WARNING_ADULT_CONTENT},
			SelfReportedAiGenerated: true,
			BlockGrokEdit:           true,
			AllowDownload:           &allow,
			AltText:                 "a gradient drawn by the Go interop test",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetSent() {
		t.Error("metadata with fields set was not sent")
	}
	resp, err = client.SetMediaMetadata(ctx, &mediagatev1.SetMediaMetadataRequest{
		MediaId: r.GetMediaIdString(), Account: demo, Metadata: &mediagatev1.MediaMetadata{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSent() {
		t.Error("all-default metadata was sent")
	}
}

func TestGetImage(t *testing.T) {
	ctx := testContext(t)
	data := samplePNG(t)
	query := mediagatev1.NewMediaQueryServiceClient(conn)
	got, err := query.GetImage(ctx, &mediagatev1.GetImageRequest{
		File: "base64://" + base64.StdEncoding.EncodeToString(data), IncludeBase64: true,
	})
	if status.Code(err) == codes.Unimplemented {
		t.Skip("this server does not implement MediaQueryService.GetImage yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.GetFile() == "" || got.GetSize() != int64(len(data)) || got.GetMediaType() != "image/png" {
		t.Errorf("GetImage(base64) = file %q size %d type %q", got.GetFile(), got.GetSize(), got.GetMediaType())
	}
	if !bytes.Equal(got.GetBase64(), data) || got.GetFileToken() == "" {
		t.Error("GetImage(base64) did not return the same bytes and a token")
	}

	// The token of an upload result names the uploaded image.
	r, err := upload(ctx, spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_TWEET_IMAGE, data), data)
	if err != nil {
		t.Fatal(err)
	}
	checkMediaID(t, r)
	byToken, err := query.GetImage(ctx, &mediagatev1.GetImageRequest{File: r.GetFileToken()})
	if err != nil {
		t.Fatalf("GetImage(upload token): %v", err)
	}
	if byToken.GetFilename() != r.GetMediaIdString()+".png" || byToken.GetSha256() != r.GetSha256() {
		t.Errorf("GetImage(upload token) = %q %q, want %q.png %q",
			byToken.GetFilename(), byToken.GetSha256(), r.GetMediaIdString(), r.GetSha256())
	}
}

func TestBadRequestNamesTheField(t *testing.T) {
	data := samplePNG(t)
	s := spec(mediagatev1.MediaCategory_MEDIA_CATEGORY_AMPLIFY_VIDEO, data) // a PNG is no video
	_, err := upload(testContext(t), s, data)
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want INVALID_ARGUMENT", err)
	}
	var fields []string
	var reason string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		case *errdetails.ErrorInfo:
			if d.GetDomain() != "mediagate.dev" {
				t.Errorf("ErrorInfo domain %q", d.GetDomain())
			}
			reason = d.GetReason()
		}
	}
	if len(fields) != 1 || fields[0] != "spec.media_category" || reason == "" {
		t.Errorf("BadRequest fields %v, ErrorInfo reason %q", fields, reason)
	}
	_, err = upload(testContext(t), &mediagatev1.UploadSpec{
		MediaCategory: mediagatev1.MediaCategory_MEDIA_CATEGORY_TWEET_IMAGE, TotalBytes: int64(len(data)),
		Account: &mediagatev1.Account{Credentials: &mediagatev1.Account_Name{Name: "nobody"}},
	}, data)
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown account: got %v, want NOT_FOUND", err)
	}
}
